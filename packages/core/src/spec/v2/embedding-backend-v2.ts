import type { ResolvedEmbeddingConfig } from '../../config/embedding-config.js';
import type { KerasObject } from '../../serialization/keras-object.js';
import type { StorageCapability } from '../../storage/capabilities.js';
import type { EmbeddingOutput, IndexTensor } from '../../tensor/types.js';

/** A value, or a promise of it: every v2 hook may answer synchronously (in-memory tables) or asynchronously (remote tables). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * One optimizer a backend's tables apply themselves (`doApplyOptimizer`), declared in
 * `supports.optimizers`: core then hands it the sparse gradient of each step instead of
 * computing the deltas, so that the optimizer's state can live beside the rows (a remote table
 * shared by several processes).
 */
export interface OptimizerSupportV2 {
  /** Keras class name, as core resolves it: `'SGD'`, `'Adagrad'`, `'RMSprop'` or `'Adam'`. */
  readonly className: string;
  /**
   * Config keys the backend applies only at these values, e.g. `{ momentum: 0 }`: a compiled
   * optimizer with another value (SGD with momentum) is applied by core as on any backend.
   * Default: none (every config of the class).
   */
  readonly only?: Readonly<Record<string, number | boolean>>;
  /**
   * How far the backend's step may be from core's optimizer, per step, relative to
   * `1 + |weight|` (0: bit for bit). The conformance suite adds `steps x relativeError` to its
   * training tolerance for this optimizer; document how it was derived.
   */
  readonly relativeError: number;
}

/**
 * What a backend can do, as data. Every field is present on a v2 backend (`defineBackend`
 * fills the defaults and freezes the object). Core reads each of them: an unsupported call
 * rejects with `UnsupportedFeatureError` before any hook runs, a call over a limit with
 * `LimitExceededError` before anything is allocated, and the conformance suite chooses its
 * cases and tolerances from them.
 */
export interface BackendCapabilitiesV2 {
  /** `fit`, `trainOnBatch`, `applyGradients`: the tables implement `doScatterAdd`. */
  readonly training: boolean;
  /** `doLookup` writes into a caller's Float32Array (`predict(x, { out })`) without an intermediate copy. */
  readonly lookupInto: boolean;
  /** Export formats the tables offer through `doExport` (e.g. `'onnx'`). */
  readonly export: readonly string[];
  /** How the tables store their values, with the storage's documented error bound. */
  readonly storage: StorageCapability;
  /** Largest table the backend holds, in float32 bytes (input_dim x output_dim x 4); core refuses bigger layers before allocating. */
  readonly maxTableBytes: number;
  /** Largest lookup output, in bytes (indices x output_dim x 4); core refuses bigger lookups before the backend allocates anything. */
  readonly maxOutputBytes: number;
  /**
   * Optimizers the tables apply themselves through `doApplyOptimizer` (requires `training`).
   * Default none: core computes every step's deltas and calls `doScatterAdd`.
   */
  readonly optimizers: readonly OptimizerSupportV2[];
}

/**
 * Where a new table's initial values come from (core's seeded initializer, or the weights the
 * user passed), read in row ranges so that neither core nor the backend needs a second copy
 * of the whole table.
 */
export interface RowSource {
  /** Rows of the table (input_dim). */
  readonly rows: number;
  /** Values per row (output_dim). */
  readonly outputDim: number;
  /** Rows per read that keep a read to about 16 MiB: read in ranges of this size (the last one shorter). */
  readonly chunkRows: number;
  /**
   * Rows [start, start + count) as a fresh row-major Float32Array the backend may keep.
   * Cheapest in increasing order (an initializer is a sequential random stream).
   */
  read(start: number, count: number): MaybePromise<Float32Array>;
  /**
   * Present only when the caller asked to share its table (`Embedding.create(config, { weights:
   * [table], shareWeights: true })`, as PyTorch's `Embedding.from_pretrained` shares its
   * tensor): the whole table, the caller's own row-major Float32Array of `rows * outputDim`
   * values. A backend may keep it as its table instead of reading a copy; writes through the
   * layer then change the caller's array and the caller's writes change the layer's rows. A
   * backend whose table lives elsewhere (WebAssembly memory, a runtime, a server) reads it as
   * usual, and says which it did in `doDescribe` (`sharesWeights`).
   */
  readonly shared?: Float32Array;
}

/** A staged replacement of a whole table (see {@link EmbeddingTableV2.doBeginReplace}). */
export interface TableReplacementV2 {
  /** Rows from `start`, as {@link EmbeddingTableV2.doWriteRows} takes them, into the new table only. */
  write(start: number, rows: Float32Array): MaybePromise<void>;
  /** Makes the new table the table, at once: lookups see the old table or the new one, never a mix. */
  commit(): MaybePromise<void>;
  /** Drops the new table (a write failed); the old one stays. */
  abort(): MaybePromise<void>;
}

/** Facts about a table, as `Embedding.describe()` returns them: names to strings, numbers, booleans or null. */
export type TableDescription = Readonly<Record<string, string | number | boolean | null>>;

/**
 * The types of a backend's own tensors, for the optional native path (`Embedding.lookupNative`):
 * what a native lookup takes (`input`), what it gives (`output`, possibly a promise) and what a
 * native mask is (`mask`).
 */
export interface NativeTypes {
  /** The index tensor type, e.g. `tf.Tensor`. */
  readonly input: unknown;
  /** What a native lookup returns, e.g. `tf.Tensor`, or a promise of ORT tensors. */
  readonly output: unknown;
  /** What a native mask is, e.g. a bool `tf.Tensor`. */
  readonly mask: unknown;
}

/** An index tensor as a backend's native hook reads it for core: its element type, shape and values. */
export interface NativeIndexView {
  /** The tensor's element type as the runtime names it (`'int32'`, `'int64'`, `'float32'`, `'bool'`...). */
  readonly dtype: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its values: a typed array (core accepts the integer ones, float32/float64 holding integers, and bool as uint8). */
  readonly data: unknown;
}

/**
 * The backend's own tensor type. Core checks that a value is such a tensor, reads its indices
 * through `read` and validates them with the same rules (and errors) as every other input; only
 * then does a table's `doLookupNative` / `doMaskNative` see it.
 */
export interface NativeTensorsV2 {
  /** The tensor type's name in messages, e.g. `'tf.Tensor'`. */
  readonly kind: string;
  /** The tensor's dtype, shape and values, or null when `value` is not a tensor of this kind. Synchronous. */
  read(value: unknown): NativeIndexView | null;
}

/**
 * One layer's table in a v2 backend, made by {@link EmbeddingBackendV2.doCreateTable}. Core
 * validates every argument (indices, ranges, lengths, limits) before it calls a hook, and never
 * calls one after `doDispose`: hooks only move data. Hooks are `do`-prefixed so users do not
 * call them by accident; they call `Embedding`. Each may be synchronous or return a promise.
 */
export interface EmbeddingTableV2<N extends NativeTypes = NativeTypes> {
  /**
   * Gathers rows: output[..., :] = table[indices[...], :], shape `[...indices.shape, outputDim]`.
   * When `out` is given (only if `supports.lookupInto`), writes the rows into it (its length
   * is checked, and it shares no memory with the indices) and returns it as the output's data.
   * The indices are core's own until the returned promise settles (a copy whenever the
   * validated array shared the caller's memory, reused by core for a later call): a backend may
   * read them after an await, or hand them to a runtime, without a copy, but must not keep
   * them once the lookup has settled.
   */
  doLookup(indices: IndexTensor, out?: Float32Array): MaybePromise<EmbeddingOutput>;
  /**
   * Optional: a Float32Array of `length` values for `doLookup(indices, out)`, placed where this
   * table writes rows fastest (adapter-js: inside the table's WebAssembly memory, where the
   * kernel writes each row once instead of through a scratch area), or null when there is no
   * such place now (core then gives the caller a plain `new Float32Array(length)`). It stays
   * the caller's until `doReleaseOutput(array)` or `doDispose`. `length` is validated (> 0,
   * within `supports.maxOutputBytes`).
   */
  doAllocateOutput?(length: number): Float32Array | null;
  /** Optional, with `doAllocateOutput`: gives back an array it returned (core passes no other array twice); its memory may back a later one. */
  doReleaseOutput?(array: Float32Array): void;
  /**
   * Rows [start, start + count) as row-major float32 (dequantized): a fresh array core may give
   * to users. The range is valid and core keeps `count` to about 16 MiB a call.
   */
  doReadRows(start: number, count: number): MaybePromise<Float32Array>;
  /**
   * Overwrites rows from `start` with `rows` (a validated fresh row-major copy of whole rows,
   * that the backend may keep; quantized storage encodes it again). Core writes large ranges in
   * chunks of about 16 MiB.
   */
  doWriteRows(start: number, rows: Float32Array): MaybePromise<void>;
  /**
   * Optional: stages a replacement of the whole table (`setWeights`), written through the
   * returned object and switched in by `commit`, so that readers never see a mix of the old
   * and the new table (a remote table writes a new version and switches a pointer). Without it,
   * core writes the validated rows in place with `doWriteRows`.
   */
  doBeginReplace?(): MaybePromise<TableReplacementV2>;
  /**
   * Adds `deltas` (rows.length x output_dim, row-major) to the given distinct rows, in place:
   * table[rows[k], :] += deltas[k, :]. Required when `supports.training`.
   */
  doScatterAdd?(rows: Int32Array, deltas: Float32Array): MaybePromise<void>;
  /**
   * One optimizer step computed by the backend, with its state kept where the backend keeps
   * it (beside the rows, for a remote table). Called by `fit` / `trainOnBatch` /
   * `applyGradients` instead of `doScatterAdd` when the compiled optimizer matches an entry of
   * `supports.optimizers` and no embeddings regularizer or `denseUpdates` makes core update
   * every row. `rows` are distinct (the padding row already left out), `gradients` their
   * summed sparse gradient (rows.length x output_dim, float64; duplicates summed and
   * `scaleGradByFreq` applied by core), `optimizer` the resolved Keras optimizer
   * (`{ className, config }` with Keras's defaults filled), `iteration` core's 1-based step
   * count for this compiled layer. Called once per step, with `rows` possibly empty, so a
   * backend that counts iterations itself sees every step. Constraints are applied by core
   * after it resolves. Required when `supports.optimizers` is not empty.
   */
  doApplyOptimizer?(rows: Int32Array, gradients: Float64Array, optimizer: KerasObject, iteration: number): MaybePromise<void>;
  /**
   * Serializes the layer in one of the formats of `supports.export` (e.g. `'onnx'` model
   * bytes). Required when `supports.export` is not empty.
   */
  doExport?(format: string): MaybePromise<Uint8Array>;
  /**
   * The native lookup: `indices` is a tensor of the backend's own type, already validated by
   * core (`checked` holds its values as int32). Required when the backend has `native`.
   */
  doLookupNative?(indices: N['input'], checked: IndexTensor): N['output'];
  /** The native mask (`indices != 0`), called only when mask_zero; `checked` as for `doLookupNative`. */
  doMaskNative?(indices: N['input'], checked: IndexTensor): N['mask'];
  /**
   * Optional: facts about this table as plain data (its code path, shards, bytes stored...),
   * shown by `Embedding.describe()` after core's own (backend, storage).
   */
  doDescribe?(): TableDescription;
  /** Releases the table's resources (tensors, sessions, connections). Called once, after every call core started has settled. */
  doDispose(): MaybePromise<void>;
}

/**
 * The backend contract, version 2: row ranges (so tables can be streamed, and can live
 * elsewhere), a native tensor path validated by core, and capabilities that core and the
 * conformance suite read. Make one with `defineBackend` from `@embedding-layer/core/backend`
 * and pass it as `{ backend }` to `Embedding.create`.
 */
export interface EmbeddingBackendV2<N extends NativeTypes = NativeTypes> {
  /** Always `'v2'`. */
  readonly specificationVersion: 'v2';
  /** Short name shown in errors and reports, e.g. `'js'`, `'tfjs-cpu'`. */
  readonly name: string;
  /** The capability manifest (complete and frozen). */
  readonly supports: BackendCapabilitiesV2;
  /** The backend's own tensor type, when it has a native path. */
  readonly native?: NativeTensorsV2;
  /**
   * Creates a table for a validated config, filled from `initial` (read its rows in ranges of
   * `initial.chunkRows`, or all at once with `readAllRows(initial)` when the backend holds the
   * table as one array).
   */
  doCreateTable(config: ResolvedEmbeddingConfig, initial: RowSource): MaybePromise<EmbeddingTableV2<N>>;
}
