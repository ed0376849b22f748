import {
  DisposedError,
  type EmbeddingBackendV2,
  type EmbeddingOutput,
  type EmbeddingTableV2,
  type IndexTensor,
  InvalidConfigError,
  InvalidWeightsError,
  type NativeIndexView,
  type NativeTensorsV2,
  type ResolvedEmbeddingConfig,
  type RowSource,
  type TableDescription,
  type TableReplacementV2,
  UnsupportedFeatureError,
} from '@embedding-layer/core';
import {
  checkBackendOptions,
  decodeHalf,
  decodeInt4,
  decodeInt8,
  defineBackend,
  encodeHalf,
  encodeInt4,
  encodeInt8,
  int4RowBytes,
  packInt4Row,
  quantizeRowInt4,
  quantizeRowInt8,
  raiseMallocThresholds,
  readAllRows,
  STORAGE,
  toHalf,
} from '@embedding-layer/core/backend';
import type { OnnxStorage } from '@embedding-layer/onnx-model';
import { buildEmbeddingModel, DEFAULT_EXTERNAL_DATA_THRESHOLD, ONNX_NAMES, type OnnxIndexType } from '@embedding-layer/onnx-model';
import type * as Ort from 'onnxruntime-node';
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
   * row), dequantized after the Gather as `q / scale`. `'int4'`: Keras 3's per-channel int4
   * (two values a byte as `pack_int4`, plus a float32 scale per row), unpacked and dequantized
   * in the graph after the Gather (integer Mod/Div, not ONNX Runtime's GatherBlockQuantized,
   * which multiplies by a scale where Keras divides and needs blocks of 16+ columns). Lookups and `getWeights` return the
   * dequantized float32 values; `setWeights` quantizes again. Export writes those dequantized
   * values as a float32 table (see the README).
   */
  storage?: OnnxStorage;
  /**
   * Default true: on Linux, the first layer created with onnxruntime-node allocates and drops
   * one untouched 32 MiB buffer, which raises glibc malloc's dynamic mmap and trim thresholds
   * for the process (to 32 and 64 MiB). onnxruntime-node copies every output into a new
   * ArrayBuffer; without this, a process that never freed a block larger than one output
   * returns freed outputs to the kernel and faults every page of the next ones in again (at an
   * 8 MiB output, 2.8x the time of the run). The cost: the process may keep up to 64 MiB of
   * freed heap. false leaves malloc as it is.
   */
  raiseMallocThresholds?: boolean;
  /**
   * float32 tables of at most this many bytes (default 4 MiB; 0: none) also get a second
   * session that holds the table inside its graph (an initializer, which ONNX Runtime copies),
   * so a lookup feeds only the indices: at 1,000 x 64 and 320 indices, a run costs about 4 µs
   * (10%) less than one that is also fed the table. The first write to the table
   * (`writeRows`, `setWeights`) drops that session for good and lookups go back to the session
   * fed the table. Not with `max_norm` (core rewrites looked-up rows before each lookup), nor for
   * a shared table (`Embedding.create(..., { shareWeights: true })`: the initializer would be
   * ONNX Runtime's copy, which the caller's later writes to its array would not reach). Costs
   * one more session and the table's bytes once more inside ONNX Runtime.
   */
  inlineTableMaxBytes?: number;
}

/** Default {@link OnnxBackendOptions.inlineTableMaxBytes}: 4 MiB. */
export const DEFAULT_INLINE_TABLE_MAX_BYTES = 4 * 2 ** 20;

/** Node's typed arrays (and so core's weights) hold at most 2^32 bytes; the session itself has no limit (the table is fed). */
const MAX_TABLE_BYTES = 2 ** 32;

/** Largest lookup output: ONNX Runtime allocates it natively, then hands it to JS as one Float32Array; 4 GiB. */
const MAX_OUTPUT_BYTES = 2 ** 32;

/**
 * Lookups whose output is larger than this (32 MiB) run in pieces of {@link CHUNK_OUTPUT_BYTES}
 * on onnxruntime-node: the binding copies every output of a run into a new ArrayBuffer (also
 * when ONNX Runtime wrote it into a preallocated one), and past glibc's 32 MiB mmap threshold
 * that copy is a fresh mapping each call, faulted in page by page (131,072 faults at 512 MiB:
 * half of the call's CPU time). Piece by piece, each run writes into a view of the whole output
 * and the binding's copies are 4 MiB blocks reused from the heap (and cache-warm).
 */
const CHUNKED_OUTPUT_BYTES = 32 * 2 ** 20;

/** Output bytes of one run of a chunked lookup (see {@link CHUNKED_OUTPUT_BYTES}). */
const CHUNK_OUTPUT_BYTES = 4 * 2 ** 20;

/** The name of ONNX Runtime's tensor type in messages, and the `native.kind` of ONNX backends. */
export const ORT_TENSOR_KIND = 'ort.Tensor';

/** Reads an `ort.Tensor` for core's validation (float16/bfloat16 hold bit patterns, not indices), or null for anything else. */
function readTensor(value: unknown): NativeIndexView | null {
  const t = value as Partial<Ort.Tensor> | null;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.dims) || typeof t.type !== 'string' || !('data' in t)) return null;
  const data = (t.type as string) === 'float16' || (t.type as string) === 'bfloat16' ? null : (t.data as unknown);
  return { dtype: t.type, shape: t.dims as number[], data };
}

/** @internal ONNX Runtime's tensors as core reads them (`native` of every ONNX backend). */
export const ORT_NATIVE: NativeTensorsV2 = Object.freeze({ kind: ORT_TENSOR_KIND, read: readTensor });

/** What a native lookup on ONNX Runtime gives: the output and (with mask_zero) the mask, as `ort.Tensor`s. */
export interface OrtLookupResult {
  /** float32, dims `[...indices.dims, outputDim]`. */
  output: Ort.Tensor;
  /** bool (`indices != 0`), dims of the indices, when the layer has mask_zero; else null. */
  mask: Ort.Tensor | null;
}

/** The ONNX Runtime types of the native path: an `ort.Tensor` of indices in, a promise of the output (and mask) tensors out. */
export interface OnnxNative {
  readonly input: Ort.Tensor;
  readonly output: Promise<OrtLookupResult>;
  readonly mask: never;
}

/** What one session run returns. */
interface RunResult {
  output: Ort.Tensor;
  mask: Ort.Tensor | null;
}

/** A session with the table as an initializer (see `inlineTableMaxBytes`), and the runs in flight on it. */
interface InlineSession {
  readonly session: Ort.InferenceSession;
  active: number;
  /** Set at the first write: released when its last run settles. */
  dropped: boolean;
}

/**
 * @internal One layer's table: one InferenceSession, created once, running the layer's graph
 * with the table as a graph input (`embeddings`) fed from `weights` on every run. Feeding is
 * a zero-copy wrap of the Float32Array on the CPU provider, so `setWeights` swaps a reference
 * (synchronously, atomically) and the session never needs rebuilding.
 *
 * A shared table (`shared`: float32 storage created with `RowSource.shared`, the caller's own
 * array) is that array for the table's whole life: writes go into it in place (`writeRows`,
 * `max_norm`), `setWeights` stages the new table aside and copies it into the caller's array at
 * `commit`, and nothing ever swaps it for a copy, so the caller and the layer see one table.
 */
export class OnnxTable implements EmbeddingTableV2<OnnxNative> {
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
  /** int4 storage: the packed rows (Keras 3's `pack_int4`) and each row's scale. */
  private i4: { packed: Int8Array; scales: Float32Array } | null = null;
  private tableTensor: Ort.Tensor | null = null;
  private scalesTensor: Ort.Tensor | null = null;
  /** A session holding the table as it was at creation (small float32 tables), until the first write. */
  private inline: InlineSession | null = null;
  private active = 0;
  /** Called (and emptied) when the last run in flight settles. */
  private idleWaiters: (() => void)[] = [];
  /**
   * A shared table's write (`writeRows`, `max_norm`, `setWeights`' commit) waiting for the runs
   * in flight, which read the caller's array until they settle; runs called meanwhile wait for it.
   */
  private gate: Promise<void> | null = null;
  private disposed = false;
  /** The float32 table is the caller's own array (`RowSource.shared`): never copied or swapped. */
  readonly sharesWeights: boolean;
  /**
   * onnxruntime-web runs one `session.run` at a time per session ("Session already started"
   * otherwise): its runs are chained. onnxruntime-node runs them concurrently.
   */
  private readonly serial: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    runtime: OnnxRuntime,
    session: Ort.InferenceSession,
    config: ResolvedEmbeddingConfig,
    weights: Float32Array,
    indexType: OnnxIndexType,
    storage: OnnxStorage = 'float32',
    inline: Ort.InferenceSession | null = null,
    shared = false,
  ) {
    this.runtime = runtime;
    this.sharesWeights = shared && storage === 'float32';
    this.serial = (runtime as { env?: { versions?: { web?: unknown } } }).env?.versions?.web !== undefined;
    this.session = session;
    this.config = config;
    this.indexType = indexType;
    this.storage = storage;
    this.store(weights);
    this.inline = inline ? { session: inline, active: 0, dropped: false } : null;
  }

  /** Whether lookups run on the session holding the table (nothing written since creation). */
  get inlineTable(): boolean {
    return this.inline !== null;
  }

  /** Drops the inline session (the table changes): released now, or when its last run settles. */
  private dropInline(): void {
    const inline = this.inline;
    if (inline === null) return;
    this.inline = null;
    inline.dropped = true;
    if (inline.active === 0) void inline.session.release().catch(() => undefined);
  }

  /** The table as float32: the stored array for float32 storage (no copy), else a dequantized copy. */
  get weights(): Float32Array {
    if (this.f32) return this.f32;
    if (this.f16) return decodeHalf(this.f16);
    if (this.i8) return decodeInt8(this.i8.values, this.i8.scales, this.config.outputDim);
    if (this.i4) return decodeInt4(this.i4.packed, this.i4.scales, this.config.outputDim);
    return new Float32Array(0);
  }

  /** Bytes of the stored table (values, plus the row scales for int8). */
  get storedBytes(): number {
    return (
      (this.f32?.byteLength ?? 0) +
      (this.f16?.byteLength ?? 0) +
      (this.i8 ? this.i8.values.byteLength + this.i8.scales.byteLength : 0) +
      (this.i4 ? this.i4.packed.byteLength + this.i4.scales.byteLength : 0)
    );
  }

  private store(weights: Float32Array): void {
    this.dropInline();
    this.f32 = null;
    this.f16 = null;
    this.i8 = null;
    this.i4 = null;
    if (this.storage === 'float16') this.f16 = encodeHalf(weights);
    else if (this.storage === 'int8') this.i8 = encodeInt8(weights, this.config.inputDim, this.config.outputDim);
    else if (this.storage === 'int4') this.i4 = encodeInt4(weights, this.config.inputDim, this.config.outputDim);
    else this.f32 = weights;
    this.tableTensor = null;
    this.scalesTensor = null;
  }

  /** True after `doDispose`. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Runs `job` after every run queued before it (onnxruntime-web sessions take one run at a time). */
  private runInTurn<T>(job: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(job, job);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Whether a lookup of `n` rows runs in pieces (see {@link CHUNKED_OUTPUT_BYTES}): not on the web runtime's serial path. */
  private chunked(n: number): boolean {
    return !this.serial && n * this.config.outputDim * 4 > CHUNKED_OUTPUT_BYTES;
  }

  /** Resolves when no run is in flight. */
  private whenIdle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * A shared table's write: at once when no run is in flight, else once the runs in flight have
   * settled, with runs called meanwhile held back until it is done. So a lookup reads the
   * caller's array as it was when its run started, whole, also across the pieces of a chunked
   * lookup (the caller's own writes are the caller's to order).
   */
  private exclusive(write: () => void): void | Promise<void> {
    if (this.active === 0 && this.gate === null) return write();
    const done = (this.gate ?? Promise.resolve()).then(() => this.whenIdle()).then(write);
    const gate: Promise<void> = done.then(
      () => this.openGate(gate),
      () => this.openGate(gate),
    );
    this.gate = gate;
    return done;
  }

  private openGate(gate: Promise<void>): void {
    if (this.gate === gate) this.gate = null;
  }

  /**
   * Runs the session on validated indices (flat; the caller reshapes). Concurrent runs are
   * safe: each captures the table tensor current at call time, and the weights it wraps are
   * never mutated (setWeights replaces them; a shared table's writes wait for the runs in
   * flight). `owned`: nothing but this run reads or writes `indices` (core's own validated
   * copy), so int32 indices are fed without a copy. An `into` over {@link CHUNKED_OUTPUT_BYTES}
   * on onnxruntime-node is filled by one run per {@link CHUNK_OUTPUT_BYTES} of it.
   */
  async run(indices: Int32Array, withMask: boolean, into: Float32Array | undefined, owned: boolean): Promise<RunResult> {
    while (this.gate !== null) await this.gate;
    if (this.disposed) throw new DisposedError(`Embedding "${this.config.name}" was disposed; create a new layer.`);
    const { Tensor } = this.runtime;
    const inline = this.inline;
    if (this.sharesWeights) this.checkShared();
    if (inline === null && this.tableTensor === null) {
      const dims = [this.config.inputDim, this.config.outputDim];
      if (this.f16) this.tableTensor = new Tensor('float16', this.f16, dims);
      else if (this.i8) {
        this.tableTensor = new Tensor('int8', this.i8.values, dims);
        this.scalesTensor = new Tensor('float32', this.i8.scales, [this.config.inputDim]);
      } else if (this.i4) {
        const { packed } = this.i4;
        // The graph reads the packed bytes as UINT8 (Mod/Div on their unsigned value): the same bytes.
        const bytes = new Uint8Array(packed.buffer, packed.byteOffset, packed.length);
        this.tableTensor = new Tensor('uint8', bytes, [this.config.inputDim, int4RowBytes(this.config.outputDim)]);
        this.scalesTensor = new Tensor('float32', this.i4.scales, [this.config.inputDim]);
      } else this.tableTensor = new Tensor('float32', this.f32 ?? new Float32Array(0), dims);
    }
    const index = indexFeed(indices, this.indexType, owned);
    const feeds: Record<string, Ort.Tensor> = { [ONNX_NAMES.indices]: new Tensor(this.indexType, index, [indices.length]) };
    if (inline === null) {
      feeds[ONNX_NAMES.embeddings] = this.tableTensor!;
      if (this.scalesTensor) feeds[ONNX_NAMES.scales] = this.scalesTensor;
    }
    const session = inline?.session ?? this.session;
    const d = this.config.outputDim;
    const n = indices.length;
    const chunk = into && this.chunked(n) ? Math.max(1, Math.floor(CHUNK_OUTPUT_BYTES / (d * 4))) : n;
    // With `into`, ONNX Runtime writes the output straight into the caller's buffer (a
    // preallocated output tensor), as a bare `session.run(feeds, { output })` does.
    const fetches: Ort.InferenceSession.FetchesType = into
      ? { [ONNX_NAMES.output]: new Tensor('float32', into, [indices.length, this.config.outputDim]) }
      : withMask && this.config.maskZero
        ? [ONNX_NAMES.output, ONNX_NAMES.mask]
        : [ONNX_NAMES.output];
    this.active++;
    if (inline) inline.active++;
    try {
      if (chunk < n) {
        // One table for every piece: the tensors captured above (copy on write, or a shared table's gate).
        for (let start = 0; start < n; start += chunk) {
          const end = Math.min(n, start + chunk);
          const piece = { ...feeds, [ONNX_NAMES.indices]: new Tensor(this.indexType, index.subarray(start, end), [end - start]) };
          await session.run(piece, { [ONNX_NAMES.output]: new Tensor('float32', into!.subarray(start * d, end * d), [end - start, d]) });
        }
        return { output: new Tensor('float32', into!, [n, d]), mask: null };
      }
      const result = this.serial ? await this.runInTurn(() => session.run(feeds, fetches)) : await session.run(feeds, fetches);
      return { output: result[ONNX_NAMES.output]!, mask: result[ONNX_NAMES.mask] ?? null };
    } finally {
      if (inline && --inline.active === 0 && inline.dropped) void inline.session.release().catch(() => undefined);
      this.active--;
      if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * A shared table is still the caller's array as it was given: a transferred or detached
   * buffer (`structuredClone(..., { transfer })`, a grown WebAssembly.Memory) leaves a
   * Float32Array of length 0, which ONNX Runtime would reject with a shape error, or read past.
   */
  private checkShared(): void {
    const expected = this.config.inputDim * this.config.outputDim;
    if (this.f32 !== null && this.f32.length === expected) return;
    throw new InvalidWeightsError(
      `Embedding "${this.config.name}" shares the caller's table (shareWeights: true), which must stay a Float32Array of ${expected} values (${this.config.inputDim} x ${this.config.outputDim}); it now has ${
        this.f32?.length ?? 0
      } (its ArrayBuffer was transferred or detached). Keep the array alive and attached for the layer's life, or create the layer without shareWeights.`,
    );
  }

  async doLookup(indices: IndexTensor, into?: Float32Array): Promise<EmbeddingOutput> {
    const d = this.config.outputDim;
    const n = indices.data.length;
    const shape = [...indices.shape, d];
    // Nothing to gather: answer without the session (an empty batch or output_dim 0).
    if (n === 0 || d === 0) return { data: into ?? new Float32Array(n * d), shape };
    // A large fresh output is allocated here and filled in pieces (see CHUNKED_OUTPUT_BYTES):
    // untouched zero pages, written once by ONNX Runtime, no output-sized copy by the binding.
    const out = into ?? (this.chunked(n) ? new Float32Array(n * d) : undefined);
    // Core hands doLookup indices it owns (a copy when they still shared the caller's memory).
    const { output } = await this.run(indices.data, false, out, true);
    return { data: out ?? (output.data as Float32Array), shape };
  }

  doReadRows(start: number, count: number): Float32Array {
    const d = this.config.outputDim;
    const from = start * d;
    const to = (start + count) * d;
    if (this.f32) return this.f32.slice(from, to);
    if (this.f16) return decodeHalf(this.f16.subarray(from, to));
    if (this.i8) return decodeInt8(this.i8.values.subarray(from, to), this.i8.scales.subarray(start, start + count), d);
    if (this.i4) {
      const bytes = int4RowBytes(d);
      return decodeInt4(this.i4.packed.subarray(start * bytes, (start + count) * bytes), this.i4.scales.subarray(start, start + count), d);
    }
    return new Float32Array(0);
  }

  /**
   * Writes rows in place, encoded for the storage. Runs in flight read the arrays when ONNX
   * Runtime gets to them: while any is in flight the arrays are copied first (copy on write),
   * so a run sees the table of when it started. Not a shared table, which is never copied: its
   * rows are written into the caller's array once the runs in flight have settled (see `exclusive`).
   */
  doWriteRows(start: number, rows: Float32Array): void | Promise<void> {
    this.dropInline();
    if (this.sharesWeights) {
      return this.exclusive(() => {
        this.checkShared();
        this.f32!.set(rows, start * this.config.outputDim);
      });
    }
    if (this.active > 0) {
      this.f32 = this.f32?.slice() ?? null;
      this.f16 = this.f16?.slice() ?? null;
      this.i8 = this.i8 ? { values: this.i8.values.slice(), scales: this.i8.scales.slice() } : null;
      this.i4 = this.i4 ? { packed: this.i4.packed.slice(), scales: this.i4.scales.slice() } : null;
      this.tableTensor = null;
      this.scalesTensor = null;
    }
    const d = this.config.outputDim;
    if (this.f32) this.f32.set(rows, start * d);
    else if (this.f16) for (let i = 0; i < rows.length; i++) this.f16[start * d + i] = toHalf(rows[i]!);
    else if (this.i8) {
      const count = d === 0 ? 0 : rows.length / d;
      for (let r = 0; r < count; r++) this.i8.scales[start + r] = quantizeRowInt8(rows, r * d, d, this.i8.values, (start + r) * d);
    } else if (this.i4) {
      const count = d === 0 ? 0 : rows.length / d;
      const bytes = int4RowBytes(d);
      const nibbles = new Int8Array(d);
      for (let r = 0; r < count; r++) {
        this.i4.scales[start + r] = quantizeRowInt4(rows, r * d, d, nibbles, 0);
        packInt4Row(nibbles, 0, d, this.i4.packed, (start + r) * bytes);
      }
    }
  }

  /**
   * setWeights: a new table is built aside and swapped in by `commit` (runs in flight keep the
   * old one). A shared table stays shared: `commit` copies the staged table into the caller's
   * array in one synchronous `set` (PyTorch's `weight.data.copy_`) once the runs in flight have
   * settled, so no lookup sees a mix, and a failed write (`abort`) leaves the caller's array
   * untouched. Peak memory: two tables, as without sharing.
   */
  doBeginReplace(): TableReplacementV2 {
    const d = this.config.outputDim;
    let staged: Float32Array | null = new Float32Array(this.config.inputDim * d);
    return {
      write: (start, rows) => {
        staged!.set(rows, start * d);
      },
      commit: () => {
        const next = staged!;
        staged = null;
        if (!this.sharesWeights) return this.store(next);
        return this.exclusive(() => {
          this.checkShared();
          this.f32!.set(next);
        });
      },
      abort: () => {
        staged = null;
      },
    };
  }

  async doLookupNative(indices: Ort.Tensor, checked: IndexTensor): Promise<OrtLookupResult> {
    const { Tensor } = this.runtime;
    const d = this.config.outputDim;
    const dims = [...checked.shape];
    const outDims = [...dims, d];
    if (checked.data.length === 0 || d === 0) {
      const mask = new Uint8Array(checked.data.length);
      for (let i = 0; i < mask.length; i++) mask[i] = checked.data[i] !== 0 ? 1 : 0;
      return {
        output: new Tensor('float32', new Float32Array(checked.data.length * d), outDims),
        mask: this.config.maskZero ? new Tensor('bool', mask, dims) : null,
      };
    }
    void indices;
    // The checked data may be the caller's tensor's own array, which it could change before the run: copied.
    const { output, mask } = await this.run(checked.data, true, undefined, false);
    return {
      output: new Tensor('float32', output.data as Float32Array, outDims),
      mask: mask ? new Tensor('bool', mask.data as Uint8Array, dims) : null,
    };
  }

  doDescribe(): TableDescription {
    return { storedBytes: this.storedBytes, indexType: this.indexType, sharesWeights: this.sharesWeights };
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
    // Runs already scheduled must finish before the native session is released.
    if (this.active > 0) await this.whenIdle();
    const inline = this.inline;
    this.inline = null;
    if (inline) await inline.session.release();
    this.tableTensor = null;
    this.scalesTensor = null;
    this.f32 = null;
    this.f16 = null;
    this.i8 = null;
    this.i4 = null;
    await this.session.release();
  }
}

const FACTORY = 'createOnnxBackend';

/**
 * `initial.shared` (the caller's table, `shareWeights: true`), checked against the config, or
 * null when the caller did not ask to share. Core has checked it; a backend keeps it for the
 * table's life, so a wrong one is refused here rather than read out of bounds later.
 */
function sharedTable(initial: RowSource, config: ResolvedEmbeddingConfig): Float32Array | null {
  const shared = initial.shared;
  if (shared === undefined) return null;
  const expected = config.inputDim * config.outputDim;
  if (!(shared instanceof Float32Array) || shared.length !== expected) {
    throw new InvalidWeightsError(
      `createOnnxBackend: a shared table (shareWeights: true) must be a Float32Array of ${expected} values (${config.inputDim} x ${config.outputDim}), received ${
        shared instanceof Float32Array ? `${shared.length} values` : typeof shared
      }.`,
    );
  }
  return shared;
}

function checkOptions(options: OnnxBackendOptions): Required<Omit<OnnxBackendOptions, 'runtime'>> & { runtime?: OnnxRuntimeSource } {
  const o = checkBackendOptions<OnnxBackendOptions>(FACTORY, options, {
    runtime: { kind: 'any' },
    executionProviders: { kind: 'array', minLength: 1 },
    indexType: { kind: 'oneOf', values: ['int32', 'int64'] },
    intraOpNumThreads: { kind: 'integer', min: 0 },
    storage: { kind: 'oneOf', values: ['float32', 'float16', 'int8', 'int4'] },
    raiseMallocThresholds: { kind: 'boolean' },
    inlineTableMaxBytes: { kind: 'integer', min: 0 },
  });
  return {
    indexType: o.indexType ?? 'int32',
    executionProviders: o.executionProviders ?? ['cpu'],
    intraOpNumThreads: o.intraOpNumThreads ?? 1,
    storage: o.storage ?? 'float32',
    raiseMallocThresholds: o.raiseMallocThresholds ?? true,
    inlineTableMaxBytes: o.inlineTableMaxBytes ?? DEFAULT_INLINE_TABLE_MAX_BYTES,
    ...(o.runtime === undefined ? {} : { runtime: o.runtime }),
  };
}

/**
 * The ONNX Runtime backend (spec v2): each layer is an ONNX graph (`Gather` on axis 0, plus the
 * `mask_zero` mask) run by one onnxruntime-node `InferenceSession`, created with the layer
 * and reused for its whole life. Inference only (`supports.training` is false, so
 * `applyGradients` rejects with `UnsupportedFeatureError`); exports `'onnx'`. Its native
 * tensors are `ort.Tensor`s (`predictTensor`, core's `layer.lookupNative`).
 *
 * onnxruntime-node is a peer dependency, loaded when the first layer is created (or passed as
 * `runtime`). Outputs are bitwise equal to core's reference: Gather copies the floats.
 *
 * With `Embedding.create(config, { backend, weights: [table], shareWeights: true })` a float32
 * layer keeps the caller's `table` as its own (PyTorch's `from_pretrained`): no copy at
 * creation, the caller's writes are seen by the next lookup, and the layer's writes
 * (`writeRows`, `max_norm`, `setWeights` at commit) go into it; `describe().sharesWeights`
 * says so. Lookups with outputs over 32 MiB run in 4 MiB pieces (see the README).
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
export function createOnnxBackend(options: OnnxBackendOptions = {}): EmbeddingBackendV2<OnnxNative> {
  const {
    indexType,
    executionProviders,
    intraOpNumThreads,
    storage,
    raiseMallocThresholds: raise,
    inlineTableMaxBytes,
    runtime: source,
  } = checkOptions(options);
  const runtime = (): Promise<OnnxRuntime> => loadOnnxRuntime(source);
  return defineBackend<OnnxNative>({
    name: 'onnx',
    supports: {
      storage: STORAGE[storage],
      lookupInto: true,
      maxTableBytes: MAX_TABLE_BYTES,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      export: ['onnx'],
    },
    native: ORT_NATIVE,
    async doCreateTable(config, initial) {
      const ort = await runtime();
      // A caller's table to share (shareWeights): float32 storage keeps that very array as its
      // table; quantized storage encodes from it (no float32 copy) and keeps only its own encoding.
      const shared = sharedTable(initial, config);
      const weights = shared ?? (await readAllRows(initial, 'onnx'));
      const sharing = shared !== null && storage === 'float32';
      const model = buildEmbeddingModel(config, weights, { table: 'input', indexType, inputShape: ['n'], storage });
      const web = (ort as { env?: { versions?: { web?: unknown } } }).env?.versions?.web !== undefined;
      const sessionOptions: Ort.InferenceSession.SessionOptions = {
        executionProviders,
        graphOptimizationLevel: 'all',
        ...(intraOpNumThreads > 0 ? { intraOpNumThreads } : {}),
      };
      let session: Ort.InferenceSession | null = null;
      let inline: Ort.InferenceSession | null = null;
      try {
        session = await ort.InferenceSession.create(model, sessionOptions);
        // Small float32 tables: a second session with the table inside (no table feed per run). Not on the web
        // runtime, nor with max_norm (core rewrites rows before each lookup; that graph would renormalize itself).
        const small = weights.byteLength > 0 && weights.byteLength <= inlineTableMaxBytes;
        if (small && !web && !sharing && storage === 'float32' && config.maxNorm === null) {
          inline = await ort.InferenceSession.create(
            buildEmbeddingModel(config, weights, { indexType, inputShape: ['n'] }),
            sessionOptions,
          );
        }
      } catch (error) {
        await session?.release();
        throw new InvalidConfigError(
          `ONNX Runtime could not create a session (executionProviders ${JSON.stringify(executionProviders)}): ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      }
      // onnxruntime-node's outputs are copied into new ArrayBuffers (see raiseMallocThresholds); not onnxruntime-web's.
      if (raise && !web) raiseMallocThresholds();
      return new OnnxTable(ort, session, config, weights, indexType, storage, inline, sharing);
    },
  });
}
