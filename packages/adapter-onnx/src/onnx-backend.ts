import {
  DisposedError,
  type EmbeddingBackendV1,
  type EmbeddingOutput,
  type EmbeddingTableV1,
  type IndexTensor,
  InvalidConfigError,
  type ResolvedEmbeddingConfig,
  UnsupportedFeatureError,
} from '@embedding-layer/core';
import type * as Ort from 'onnxruntime-node';
import { buildEmbeddingModel, ONNX_NAMES, type OnnxIndexType } from './model/build-embedding-model.js';
import { decodeHalf, decodeInt8, encodeHalf, encodeInt8, type OnnxStorage } from './model/quantize.js';
import { DEFAULT_EXTERNAL_DATA_THRESHOLD } from './model/versions.js';
import { indexFeed } from './runtime/index-feed.js';
import { loadOnnxRuntime, type OnnxRuntime, type OnnxRuntimeSource } from './runtime/load-runtime.js';

/** Execution providers as onnxruntime-node takes them (`'cpu'`, or `{ name: 'cpu', ... }`). */
export type OnnxExecutionProviders = NonNullable<Ort.InferenceSession.SessionOptions['executionProviders']>;

/** Options of {@link createOnnxBackend}. */
export interface OnnxBackendOptions {
  /**
   * The onnxruntime-node module, or a function that loads it. Default: `import('onnxruntime-node')`
   * when the first layer is created (a missing peer then rejects with `MissingPeerError`).
   */
  runtime?: OnnxRuntimeSource;
  /** Execution providers of each layer's session. Default `['cpu']`, the one this package is tested on. */
  executionProviders?: OnnxExecutionProviders;
  /**
   * Element type of the indices fed to the session. Default `'int32'` (core's indices are
   * int32, so no conversion); `'int64'` feeds a `BigInt64Array`, as most ONNX pipelines do.
   * Also the index type of `layer.export('onnx')`.
   */
  indexType?: OnnxIndexType;
  /**
   * Threads of each session's intra-op pool. Default 1: a lookup is a memory-bound row copy,
   * the seed's batch takes microseconds, and one pool of N threads per layer would multiply
   * threads by the number of layers. Raise it for very large batches; 0 means ONNX Runtime's
   * default (one thread per core).
   */
  intraOpNumThreads?: number;
  /**
   * How each layer's table is held and fed to the session. Default `'float32'`. `'float16'`:
   * IEEE binary16 bits (round to nearest even; 2 bytes a value), cast to float32 after the
   * Gather. `'int8'`: Keras 3's per-row abs-max int8 (1 byte a value plus a float32 scale per
   * row), dequantized after the Gather as `q / scale`. Lookups and `getWeights` return the
   * dequantized float32 values; `setWeights` quantizes again. Export writes those dequantized
   * values as a float32 table (see the README).
   */
  storage?: OnnxStorage;
}

/** Node's typed arrays (and so core's weights) hold at most 2^32 bytes; the session itself has no limit (the table is fed). */
const MAX_TABLE_BYTES = 2 ** 32;

/** Tables of layers on ONNX backends, by the layer's config object (`layer.config` is the object passed to `doCreateTable`). */
const TABLES = new WeakMap<object, OnnxTable>();

/** @internal The live ONNX table of a layer created on an ONNX backend, if any. */
export function onnxTableOf(layer: { readonly config: object }): OnnxTable | undefined {
  return TABLES.get(layer.config);
}

/** What one session run returns. */
interface RunResult {
  output: Ort.Tensor;
  mask: Ort.Tensor | null;
}

/**
 * @internal One layer's table: one InferenceSession, created once, running the layer's graph
 * with the table as a graph input (`embeddings`) fed from `weights` on every run. Feeding is
 * a zero-copy wrap of the Float32Array on the CPU provider, so `setWeights` swaps a reference
 * (synchronously, atomically) and the session never needs rebuilding.
 */
export class OnnxTable implements EmbeddingTableV1 {
  readonly runtime: OnnxRuntime;
  readonly indexType: OnnxIndexType;
  readonly storage: OnnxStorage;
  private readonly config: ResolvedEmbeddingConfig;
  private readonly session: Ort.InferenceSession;
  /** float32 storage: the table itself. */
  private f32: Float32Array | null = null;
  /** float16 storage: the table's binary16 bits. */
  private f16: Uint16Array | null = null;
  /** int8 storage: the quantized values and each row's scale. */
  private i8: { values: Int8Array; scales: Float32Array } | null = null;
  private tableTensor: Ort.Tensor | null = null;
  private scalesTensor: Ort.Tensor | null = null;
  private active = 0;
  private idle: (() => void) | null = null;
  private disposed = false;

  constructor(
    runtime: OnnxRuntime,
    session: Ort.InferenceSession,
    config: ResolvedEmbeddingConfig,
    weights: Float32Array,
    indexType: OnnxIndexType,
    storage: OnnxStorage = 'float32',
  ) {
    this.runtime = runtime;
    this.session = session;
    this.config = config;
    this.indexType = indexType;
    this.storage = storage;
    this.store(weights);
  }

  /** The table as float32: the stored array for float32 storage (no copy), else a dequantized copy. */
  get weights(): Float32Array {
    if (this.f32) return this.f32;
    if (this.f16) return decodeHalf(this.f16);
    if (this.i8) return decodeInt8(this.i8.values, this.i8.scales, this.config.outputDim);
    return new Float32Array(0);
  }

  /** Bytes of the stored table (values, plus the row scales for int8). */
  get storedBytes(): number {
    return (
      (this.f32?.byteLength ?? 0) + (this.f16?.byteLength ?? 0) + (this.i8 ? this.i8.values.byteLength + this.i8.scales.byteLength : 0)
    );
  }

  private store(weights: Float32Array): void {
    this.f32 = null;
    this.f16 = null;
    this.i8 = null;
    if (this.storage === 'float16') this.f16 = encodeHalf(weights);
    else if (this.storage === 'int8') this.i8 = encodeInt8(weights, this.config.inputDim, this.config.outputDim);
    else this.f32 = weights;
    this.tableTensor = null;
    this.scalesTensor = null;
  }

  /** True after `doDispose`. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Runs the session on validated indices (flat; the caller reshapes). Concurrent runs are
   * safe: each captures the table tensor current at call time, and the weights it wraps are
   * never mutated (setWeights replaces them).
   */
  async run(indices: Int32Array, withMask: boolean): Promise<RunResult> {
    if (this.disposed) throw new DisposedError(`Embedding "${this.config.name}" was disposed; create a new layer.`);
    const { Tensor } = this.runtime;
    const dims = [this.config.inputDim, this.config.outputDim];
    if (this.tableTensor === null) {
      if (this.f16) this.tableTensor = new Tensor('float16', this.f16, dims);
      else if (this.i8) {
        this.tableTensor = new Tensor('int8', this.i8.values, dims);
        this.scalesTensor = new Tensor('float32', this.i8.scales, [this.config.inputDim]);
      } else this.tableTensor = new Tensor('float32', this.f32 ?? new Float32Array(0), dims);
    }
    const feeds: Record<string, Ort.Tensor> = {
      [ONNX_NAMES.indices]: new Tensor(this.indexType, indexFeed(indices, this.indexType), [indices.length]),
      [ONNX_NAMES.embeddings]: this.tableTensor,
    };
    if (this.scalesTensor) feeds[ONNX_NAMES.scales] = this.scalesTensor;
    const fetches = withMask && this.config.maskZero ? [ONNX_NAMES.output, ONNX_NAMES.mask] : [ONNX_NAMES.output];
    this.active++;
    try {
      const result = await this.session.run(feeds, fetches);
      return { output: result[ONNX_NAMES.output]!, mask: result[ONNX_NAMES.mask] ?? null };
    } finally {
      this.active--;
      if (this.active === 0 && this.idle) this.idle();
    }
  }

  async doLookup(indices: IndexTensor): Promise<EmbeddingOutput> {
    const d = this.config.outputDim;
    const n = indices.data.length;
    const shape = [...indices.shape, d];
    // Nothing to gather: answer without the session (an empty batch or output_dim 0).
    if (n === 0 || d === 0) return { data: new Float32Array(n * d), shape };
    const { output } = await this.run(indices.data, false);
    return { data: output.data as Float32Array, shape };
  }

  doGetWeights(): Float32Array {
    return this.weights;
  }

  doSetWeights(weights: Float32Array): void {
    // Core hands over a validated fresh copy; runs in flight keep the tensors they captured
    // (quantized storage encodes into new arrays).
    this.store(weights);
  }

  doExport(format: string): Uint8Array {
    if (format !== 'onnx') throw new UnsupportedFeatureError(`export to ${JSON.stringify(format)}`, 'onnx', 'it exports: onnx');
    const weights = this.weights;
    if (weights.byteLength > DEFAULT_EXTERNAL_DATA_THRESHOLD) {
      throw new UnsupportedFeatureError(
        'export of tables over 2 GiB as one byte array',
        'onnx',
        'a model that large needs ONNX external data; use writeOnnxFile(layer, path), which writes the table beside the .onnx file',
      );
    }
    return buildEmbeddingModel(this.config, weights, { indexType: this.indexType });
  }

  async doDispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    TABLES.delete(this.config);
    // Runs already scheduled must finish before the native session is released.
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.tableTensor = null;
    this.scalesTensor = null;
    this.f32 = null;
    this.f16 = null;
    this.i8 = null;
    await this.session.release();
  }
}

function checkOptions(options: OnnxBackendOptions): Required<Omit<OnnxBackendOptions, 'runtime'>> & { runtime?: OnnxRuntimeSource } {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError(`createOnnxBackend options must be an object, received ${String(options)}.`);
  }
  const indexType = options.indexType ?? 'int32';
  if (indexType !== 'int32' && indexType !== 'int64') {
    throw new InvalidConfigError(`indexType must be "int32" or "int64", received ${JSON.stringify(indexType)}.`);
  }
  const executionProviders = options.executionProviders ?? ['cpu'];
  if (!Array.isArray(executionProviders) || executionProviders.length === 0) {
    throw new InvalidConfigError(
      `executionProviders must be a non-empty array such as ['cpu'], received ${JSON.stringify(executionProviders)}.`,
    );
  }
  const intraOpNumThreads = options.intraOpNumThreads ?? 1;
  if (!Number.isSafeInteger(intraOpNumThreads) || intraOpNumThreads < 0) {
    throw new InvalidConfigError(
      `intraOpNumThreads must be a non-negative integer (0 = ONNX Runtime's default), received ${String(intraOpNumThreads)}.`,
    );
  }
  const storage = options.storage ?? 'float32';
  if (storage !== 'float32' && storage !== 'float16' && storage !== 'int8') {
    throw new InvalidConfigError(`storage must be "float32", "float16" or "int8", received ${JSON.stringify(storage)}.`);
  }
  const runtime = options.runtime;
  return { indexType, executionProviders, intraOpNumThreads, storage, ...(runtime === undefined ? {} : { runtime }) };
}

/**
 * The ONNX Runtime backend: each layer is an ONNX graph (`Gather` on axis 0, plus the
 * `mask_zero` mask) run by one onnxruntime-node `InferenceSession`, created with the layer
 * and reused for its whole life. Inference only (`supports.training` is absent, so
 * `applyGradients` rejects with `UnsupportedFeatureError`); exports `'onnx'`.
 *
 * onnxruntime-node is a peer dependency, loaded when the first layer is created (or passed as
 * `runtime`). Outputs are bitwise equal to core's reference: Gather copies the floats.
 *
 * @example
 * ```ts
 * const layer = await Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10 }, { backend: createOnnxBackend() });
 * const out = await layer.predict(indices);       // { data: Float32Array, shape: [32, 10, 64] }
 * const bytes = await layer.export('onnx');       // the .onnx model
 * ```
 * @throws InvalidConfigError for a bad option (at once); layer creation rejects with
 *   MissingPeerError when onnxruntime-node cannot be loaded.
 */
export function createOnnxBackend(options: OnnxBackendOptions = {}): EmbeddingBackendV1 {
  const { indexType, executionProviders, intraOpNumThreads, storage, runtime: source } = checkOptions(options);
  let loading: Promise<OnnxRuntime> | null = null;
  const runtime = (): Promise<OnnxRuntime> => {
    loading ??= loadOnnxRuntime(source).catch((error: unknown) => {
      loading = null; // let a later layer retry (e.g. after the peer was installed)
      throw error;
    });
    return loading;
  };
  return {
    specificationVersion: 'v1',
    name: 'onnx',
    supports: { dtypes: ['float32'], maxTableBytes: MAX_TABLE_BYTES, export: ['onnx'] },
    async doCreateTable(config, weights) {
      const ort = await runtime();
      const model = buildEmbeddingModel(config, weights, { table: 'input', indexType, inputShape: ['n'], storage });
      let session: Ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(model, {
          executionProviders,
          graphOptimizationLevel: 'all',
          ...(intraOpNumThreads > 0 ? { intraOpNumThreads } : {}),
        });
      } catch (error) {
        throw new InvalidConfigError(
          `ONNX Runtime could not create a session (executionProviders ${JSON.stringify(executionProviders)}): ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      }
      const table = new OnnxTable(ort, session, config, weights, indexType, storage);
      TABLES.set(config, table);
      return table;
    },
  };
}
