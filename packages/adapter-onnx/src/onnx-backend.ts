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
  weights: Float32Array;
  readonly runtime: OnnxRuntime;
  readonly indexType: OnnxIndexType;
  private readonly config: ResolvedEmbeddingConfig;
  private readonly session: Ort.InferenceSession;
  private tableTensor: Ort.Tensor | null = null;
  private active = 0;
  private idle: (() => void) | null = null;
  private disposed = false;

  constructor(
    runtime: OnnxRuntime,
    session: Ort.InferenceSession,
    config: ResolvedEmbeddingConfig,
    weights: Float32Array,
    indexType: OnnxIndexType,
  ) {
    this.runtime = runtime;
    this.session = session;
    this.config = config;
    this.weights = weights;
    this.indexType = indexType;
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
    this.tableTensor ??= new Tensor('float32', this.weights, [this.config.inputDim, this.config.outputDim]);
    const feeds = {
      [ONNX_NAMES.indices]: new Tensor(this.indexType, indexFeed(indices, this.indexType), [indices.length]),
      [ONNX_NAMES.embeddings]: this.tableTensor,
    };
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
    // Core hands over a validated fresh copy; runs in flight keep the tensor they captured.
    this.weights = weights;
    this.tableTensor = null;
  }

  doExport(format: string): Uint8Array {
    if (format !== 'onnx') throw new UnsupportedFeatureError(`export to ${JSON.stringify(format)}`, 'onnx', 'it exports: onnx');
    if (this.weights.byteLength > DEFAULT_EXTERNAL_DATA_THRESHOLD) {
      throw new UnsupportedFeatureError(
        'export of tables over 2 GiB as one byte array',
        'onnx',
        'a model that large needs ONNX external data; use writeOnnxFile(layer, path), which writes the table beside the .onnx file',
      );
    }
    return buildEmbeddingModel(this.config, this.weights, { indexType: this.indexType });
  }

  async doDispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    TABLES.delete(this.config);
    // Runs already scheduled must finish before the native session is released.
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.tableTensor = null;
    this.weights = new Float32Array(0);
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
  const runtime = options.runtime;
  return { indexType, executionProviders, intraOpNumThreads, ...(runtime === undefined ? {} : { runtime }) };
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
  const { indexType, executionProviders, intraOpNumThreads, runtime: source } = checkOptions(options);
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
      const model = buildEmbeddingModel(config, weights, { table: 'input', indexType, inputShape: ['n'] });
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
      const table = new OnnxTable(ort, session, config, weights, indexType);
      TABLES.set(config, table);
      return table;
    },
  };
}
