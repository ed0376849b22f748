import { withKeras2Arguments } from './config/dialects.js';
import { type EmbeddingConfig, type ResolvedEmbeddingConfig, resolveConfig } from './config/embedding-config.js';
import { fromKerasConfig, type KerasEmbeddingLayerConfig, toKerasConfig } from './config/keras-config.js';
import { describeValue } from './errors/describe-value.js';
import { DisposedError } from './errors/disposed-error.js';
import { InvalidConfigError } from './errors/invalid-config-error.js';
import { InvalidWeightsError } from './errors/invalid-weights-error.js';
import { LimitExceededError } from './errors/limit-exceeded-error.js';
import { ShapeMismatchError } from './errors/shape-mismatch-error.js';
import { UnsupportedFeatureError } from './errors/unsupported-feature-error.js';
import { checkLoraRank, type EnableLoraOptions, LoraWeights } from './lora.js';
import { freshSeed, Xoshiro128 } from './random/prng.js';
import type { KerasObject } from './serialization/keras-object.js';
import type { EmbeddingBackend } from './spec/index.js';
import { type OpenedBackend, openBackend } from './spec/open-backend.js';
import type { BackendCapabilitiesV2, EmbeddingTableV2, NativeTypes, RowSource, TableDescription } from './spec/v2/embedding-backend-v2.js';
import { decodeInt4, decodeInt8, encodeInt4, encodeInt8 } from './storage/quantize.js';
import { IndexScratch } from './tensor/index-scratch.js';
import { indexCount, toIndexTensor } from './tensor/indices.js';
import { chunkRowsFor, MAX_ARRAY_LENGTH } from './tensor/limits.js';
import { computeMask } from './tensor/mask.js';
import { checkNativeIndices, nativeCount } from './tensor/native.js';
import { OutputPool } from './tensor/output-pool.js';
import { withZeroRow } from './tensor/padding.js';
import { distinctIds, renormRows } from './tensor/renorm.js';
import { checkedRowSource, initializerSource, isRowSource, weightsSource } from './tensor/rows.js';
import { computeOutputShape, type SymbolicShape } from './tensor/shape.js';
import type { EmbeddingOutput, IndexInput, IndexTensor, MaskTensor } from './tensor/types.js';
import { addToReport, emptyReport, type WeightReport } from './tensor/validate.js';
import { checkWeights, type WeightInput } from './tensor/weights.js';
import { batches, type FitOptions, fitLoop, type History } from './training/fit.js';
import type { LossIdentifier } from './training/losses.js';
import type { OptimizerIdentifier } from './training/optimizers/registry.js';
import { type TargetInput, toTargetArray } from './training/targets.js';
import { type CompileOptions, Trainer, type TrainingTable } from './training/trainer.js';

/** Options of {@link Embedding.create} and {@link Embedding.fromConfig}. */
export interface EmbeddingCreateOptions<N extends NativeTypes = NativeTypes> {
  /** The backend that holds the table, e.g. `createJsBackend()`. */
  backend: EmbeddingBackend<N>;
  /**
   * Initial weights instead of the initializer: as `setWeights` takes them, or a
   * {@link RowSource} read a range of rows at a time (how `@embedding-layer/io` streams a
   * table from a file without a second copy of it in memory). A source's dims must be the
   * config's, and each read must return `count * outputDim` float32 values.
   */
  weights?: readonly WeightInput[] | RowSource;
  /**
   * Share `weights[0]` instead of copying it, as PyTorch's `Embedding.from_pretrained` shares
   * its tensor: when it is a Float32Array (or `{ data: Float32Array, shape }`), a backend that
   * can hold its table in the caller's array keeps that very array (adapter-onnx does), so
   * creation copies nothing, the layer's writes (`writeRows`, training, `max_norm`) change the
   * caller's array, and the caller's writes change the layer's rows. A backend whose table
   * lives elsewhere (WebAssembly memory, a TF.js tensor, Redis) copies as usual;
   * `layer.describe().sharesWeights` says which happened. Default false. Rejects with
   * `InvalidConfigError` when `weights` is not one float32 matrix.
   */
  shareWeights?: boolean;
}

/** Options of {@link Embedding.predict}. */
export interface PredictOptions {
  /** A Float32Array of indices.length * outputDim values to write the output into (it must not share memory with the indices). */
  out?: Float32Array;
}

/** Options of {@link Embedding.applyGradients}. */
export interface ApplyGradientsOptions {
  /** For a layer that is not compiled: the step size of plain SGD. Default 0.01, Keras's SGD default. */
  learningRate?: number;
}

/** Options of {@link Embedding.fromPretrained}: PyTorch's `Embedding.from_pretrained` arguments. */
export interface FromPretrainedOptions {
  /** PyTorch's `freeze`: whether the table stays as given in training (`trainable: false`). Default true. */
  freeze?: boolean;
  /** PyTorch's `padding_idx` (the row keeps its given values; it only receives no gradient). Default null. */
  paddingIdx?: number | null;
  /** PyTorch's `max_norm`. Default null. */
  maxNorm?: number | null;
  /** PyTorch's `norm_type`. Default 2. */
  normType?: number;
  /** PyTorch's `scale_grad_by_freq`. Default false. */
  scaleGradByFreq?: boolean;
  /** Layer name. Default as `Embedding.create`. */
  name?: string;
  /** Whether index 0 is masked (Keras's `mask_zero`). Default false. */
  maskZero?: boolean;
}

/** The pretrained table of {@link Embedding.fromPretrained}: rows of numbers, or a row-major array with its shape. */
export type PretrainedWeights =
  | readonly (readonly number[])[]
  | { readonly data: Float32Array | Float64Array | readonly number[]; readonly shape: readonly number[] };

/**
 * The caller's float32 table to share (`shareWeights: true`), or undefined when not asked;
 * `InvalidConfigError` when asked without one float32 matrix to share (sizes are checked later,
 * with the weights).
 */
function sharedTable(shareWeights: unknown, given: EmbeddingCreateOptions['weights']): Float32Array | undefined {
  if (shareWeights === undefined || shareWeights === false) return undefined;
  if (shareWeights !== true) throw new InvalidConfigError(`shareWeights must be a boolean, received ${describeValue(shareWeights)}.`);
  const matrix = Array.isArray(given) && given.length === 1 ? (given[0] as unknown) : undefined;
  const data = matrix instanceof Float32Array ? matrix : (matrix as { data?: unknown } | undefined)?.data;
  if (data instanceof Float32Array) return data;
  throw new InvalidConfigError(
    `shareWeights: true shares a float32 table: expected weights [Float32Array] or [{ data: Float32Array, shape }], received ${
      given === undefined ? 'no weights' : describeValue(given)
    }.`,
  );
}

/** Whether a RangeError is V8 failing to allocate an array (a limit the backend did not declare). */
function isAllocationFailure(error: unknown): boolean {
  return error instanceof RangeError && /allocat|Invalid typed array length|Array buffer|out of memory/i.test(error.message);
}

/** Whether a backend hook returned a promise (hooks may be synchronous). */
function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Whether two typed arrays share bytes. */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * The Keras `Embedding` layer: turns integer indices into dense vectors.
 *
 * Keras: `Embedding(1000, 64, input_length=10)`; here:
 * `await Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10 }, { backend })`.
 * Every argument, index, weight, row range and size is validated here, once, before the
 * backend is called, so every backend gives the same error for the same bad input.
 */
export class Embedding<N extends NativeTypes = NativeTypes> {
  private resolved: ResolvedEmbeddingConfig;
  /** The backend that holds the table. */
  readonly backend: EmbeddingBackend<N>;
  private readonly opened: OpenedBackend;
  private table: EmbeddingTableV2<N> | null;
  private disposing: Promise<void> | null = null;
  /** Calls into the table that have not settled; `dispose` waits for them. */
  private active = 0;
  private idle: (() => void)[] = [];
  /** Fresh outputs given back with `dispose()`, for the next fresh output of their size. */
  private readonly outputs = new OutputPool();
  /** The reused int32 copy of a lookup's indices. */
  private readonly scratch = new IndexScratch();
  /** Arrays `allocateOutput` placed in the backend's memory and not given back yet. */
  private readonly placed = new Set<Float32Array>();
  private trainer: Trainer | null = null;
  /** Generator of embedding dropout outside `fit({ seed })`: seeded from the layer seed when there is one. */
  private readonly dropoutRng: Xoshiro128;
  /** Keras 3's LoRA matrices while LoRA is enabled. */
  private lora: LoraWeights | null = null;
  /** Keras 3's quantization mode after `quantize(mode)`. */
  private quantized: QuantizationMode | null = null;

  private constructor(config: ResolvedEmbeddingConfig, backend: EmbeddingBackend<N>, opened: OpenedBackend, table: EmbeddingTableV2<N>) {
    this.resolved = config;
    this.backend = backend;
    this.opened = opened;
    this.table = table;
    this.dropoutRng = new Xoshiro128(config.seed ?? freshSeed());
  }

  /**
   * Validates `config`, then creates the backend table and fills it from the initializer (or
   * `options.weights`), 16 MiB of rows at a time. Rejects with `InvalidConfigError` for a bad
   * config or backend, `SpecVersionError` for a backend of an unknown specification version,
   * `UnsupportedFeatureError` for a table over the backend's `maxTableBytes`, and
   * `InvalidWeightsError` for bad weights, each before anything is allocated.
   */
  static async create<N extends NativeTypes = NativeTypes>(
    config: EmbeddingConfig,
    options: EmbeddingCreateOptions<N>,
  ): Promise<Embedding<N>> {
    const opened = openBackend(options?.backend);
    const resolved = resolveConfig(config);
    const { inputDim, outputDim } = resolved;
    const bytes = inputDim * outputDim * 4;
    // A v1 table is created from one Float32Array: at most 2^32 - 1 values.
    const max = opened.version === 'v1' ? Math.min(opened.supports.maxTableBytes, MAX_ARRAY_LENGTH * 4) : opened.supports.maxTableBytes;
    if (bytes > max) {
      throw new UnsupportedFeatureError(
        'tables of this size',
        opened.name,
        `input_dim * output_dim * 4 = ${bytes} bytes, its maxTableBytes is ${max}`,
      );
    }
    // With lora_rank, weights may be Keras 3's get_weights() of a LoRA layer: [table, a, b].
    let given = options.weights;
    let lora: { a: Float32Array; b: Float32Array } | null = null;
    if (resolved.loraRank !== null && Array.isArray(given) && given.length === 3) {
      lora = checkLoraWeights(given.slice(1), inputDim, outputDim, resolved.loraRank, 'weights');
      given = given.slice(0, 1);
    }
    // PyTorch zeroes the padding row of a table it initializes, not of weights it is given.
    const share = sharedTable(options.shareWeights, given);
    const initial =
      given !== undefined
        ? isRowSource(given)
          ? checkedRowSource(given, inputDim, outputDim, 'weights')
          : weightsSource(checkWeights(given, inputDim, outputDim, 'weights'), inputDim, outputDim, share)
        : resolved.paddingIdx !== null
          ? withZeroRow(initializerSource(resolved), resolved.paddingIdx)
          : initializerSource(resolved);
    const table = await opened.createTable(resolved, initial);
    const layer = new Embedding<N>(resolved, options.backend, opened, table as EmbeddingTableV2<N>);
    if (resolved.loraRank !== null) {
      layer.lora = LoraWeights.initialize(inputDim, outputDim, resolved.loraRank, { alpha: resolved.loraAlpha! }, loraSeed(resolved.seed));
      if (lora) {
        layer.lora.a.set(lora.a);
        layer.lora.b.set(lora.b);
      }
    }
    return layer;
  }

  /**
   * Creates a layer from a Keras 2, Keras 3 or TF.js layer config (snake_case, bare or wrapped
   * in `{ class_name: 'Embedding', config }`): Keras's `Embedding.from_config`. Keras 1's
   * argument names (`init`, `W_regularizer`, `W_constraint`, `input_dtype`, `dropout`) are read
   * as Keras 2's `from_config` reads them, through its legacy converter.
   */
  static async fromConfig<N extends NativeTypes = NativeTypes>(config: unknown, options: EmbeddingCreateOptions<N>): Promise<Embedding<N>> {
    return Embedding.create(fromKerasConfig(withKeras2Arguments(config)), options);
  }

  /**
   * PyTorch's `nn.Embedding.from_pretrained(embeddings, freeze=True, padding_idx, max_norm,
   * norm_type, scale_grad_by_freq)`: a layer whose table is `weights` (a 2-D matrix: rows of
   * numbers, or `{ data, shape: [rows, cols] }`), frozen unless `freeze: false`. The padding
   * row keeps its given values (as in PyTorch). Rejects with `ShapeMismatchError` when `weights`
   * is not 2-D (PyTorch: "Embeddings parameter is expected to be 2-dimensional"), and as
   * `create` otherwise.
   */
  static async fromPretrained<N extends NativeTypes = NativeTypes>(
    weights: PretrainedWeights,
    options: FromPretrainedOptions = {},
    createOptions: Omit<EmbeddingCreateOptions<N>, 'weights'>,
  ): Promise<Embedding<N>> {
    let shape: readonly number[];
    if (Array.isArray(weights)) {
      const rows = weights as readonly unknown[];
      const width = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : -1;
      if (rows.length === 0 || !rows.every((r) => Array.isArray(r) && r.length === width)) {
        throw new ShapeMismatchError(
          `fromPretrained expected a 2-dimensional matrix (rows of equal length, PyTorch: "Embeddings parameter is expected to be 2-dimensional"), received ${describeValue(weights)}.`,
        );
      }
      shape = [rows.length, width];
    } else {
      const s = (weights as { shape?: unknown })?.shape;
      if (!Array.isArray(s) || s.length !== 2) {
        throw new ShapeMismatchError(
          `fromPretrained expected { data, shape: [rows, cols] } (PyTorch: "Embeddings parameter is expected to be 2-dimensional"), received shape ${describeValue(s)}.`,
        );
      }
      shape = s as number[];
    }
    const { freeze = true, ...rest } = options ?? {};
    if (typeof freeze !== 'boolean') throw new InvalidConfigError(`freeze must be a boolean, received ${describeValue(freeze)}.`);
    const config: EmbeddingConfig = { inputDim: shape[0]!, outputDim: shape[1]!, ...rest, trainable: !freeze };
    return Embedding.create(config, { ...createOptions, weights: [weights as WeightInput] });
  }

  /** The validated config, with Keras's defaults filled in (`trainable` follows {@link Embedding.trainable}). */
  get config(): ResolvedEmbeddingConfig {
    return this.resolved;
  }

  /**
   * Keras's `layer.trainable`, readable and settable after creation: `false` freezes the table
   * without rebuilding the layer (`fit` and `trainOnBatch` still compute the loss; the table is
   * left as it is), `true` unfreezes it. The compiled optimizer and its state are kept.
   */
  get trainable(): boolean {
    return this.resolved.trainable;
  }

  /** Freezes (`false`) or unfreezes (`true`) the table, as Keras's `layer.trainable = False`; a non-boolean is an `InvalidConfigError`. */
  set trainable(value: boolean) {
    if (typeof value !== 'boolean') throw new InvalidConfigError(`trainable must be a boolean, received ${describeValue(value)}.`);
    this.resolved = Object.freeze({ ...this.resolved, trainable: value });
    if (this.trainer) this.trainer.trainable = value;
  }

  /** Keras's `count_params()`: the values of the table, input_dim x output_dim (frozen or not), plus LoRA's a and b when enabled. */
  countParams(): number {
    return this.resolved.inputDim * this.resolved.outputDim + this.loraParams();
  }

  /** Values of the LoRA matrices: rank x (input_dim + output_dim), or 0. */
  private loraParams(): number {
    return this.lora ? this.lora.rank * (this.resolved.inputDim + this.resolved.outputDim) : 0;
  }

  /**
   * A Keras-like `summary()` of the layer as a one-layer model: its name and class, output
   * shape (None for the batch and any length `input_length` leaves open), parameter count, and
   * total / trainable / non-trainable parameters. Returns the text (and prints nothing).
   */
  summary(): string {
    const { name, inputLength, outputDim } = this.resolved;
    const lengths = inputLength === null ? [null] : typeof inputLength === 'number' ? [inputLength] : [...inputLength];
    const shape = `(${[null, ...lengths, outputDim].map((v) => (v === null ? 'None' : String(v))).join(', ')})`;
    const params = this.countParams();
    // With LoRA (or after quantize) the table is frozen: only a and b train, as in Keras 3.
    const trainable = !this.trainable ? 0 : this.lora ? this.loraParams() : this.quantized ? 0 : params;
    const fmt = (n: number) => n.toLocaleString('en-US');
    const row = (a: string, b: string, c: string) => `${a.padEnd(29)}${b.padEnd(26)}${c}`;
    const rule = (ch: string) => ch.repeat(65);
    return [
      `Model: "${name}"`,
      rule('_'),
      row(' Layer (type)', 'Output Shape', 'Param #'),
      rule('='),
      row(` ${name} (Embedding)`, shape, fmt(params)),
      rule('='),
      `Total params: ${fmt(params)}`,
      `Trainable params: ${fmt(trainable)}`,
      `Non-trainable params: ${fmt(params - trainable)}`,
      rule('_'),
    ].join('\n');
  }

  /** The backend's capability manifest, complete (a v1 backend's in v2 terms). */
  get supports(): BackendCapabilitiesV2 {
    return this.opened.supports;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.table === null;
  }

  private live(): EmbeddingTableV2<N> {
    if (this.table === null) throw new DisposedError(`Embedding "${this.config.name}" was disposed; create a new layer.`);
    return this.table;
  }

  /** Runs `body` on the live table, counted so that `dispose` waits for it to settle. */
  private async use<T>(body: (table: EmbeddingTableV2<N>) => T | Promise<T>): Promise<T> {
    const table = this.live();
    this.active++;
    try {
      return await body(table);
    } finally {
      this.settled();
    }
  }

  /** Ends a call counted by `active++` (in {@link use}, or inline in `predict`), waking `dispose` after the last one. */
  private settled(): void {
    if (--this.active === 0) for (const wake of this.idle.splice(0)) wake();
  }

  /**
   * Validates indices (and their shape against `input_length`) into int32. `owned` (the
   * default, for every path that awaits before the backend reads them): a copy when the result
   * still shares the caller's memory, see {@link ownIndices}.
   */
  private indices(input: IndexInput, owned = true): IndexTensor {
    const indices = toIndexTensor(input, this.config.inputDim);
    computeOutputShape(indices.shape, this.config.outputDim, this.config.inputLength);
    return owned ? ownIndices(indices, input) : indices;
  }

  /** Refuses a lookup whose output would pass the backend's (or JavaScript's) limit, before anything is allocated. */
  private checkOutput(count: number): void {
    const bytes = count * this.config.outputDim * 4;
    const limit = Math.min(this.supports.maxOutputBytes, MAX_ARRAY_LENGTH * 4);
    if (bytes > limit) {
      throw new LimitExceededError(
        'lookup output',
        bytes,
        limit,
        this.opened.name,
        `${count} indices x output_dim ${this.config.outputDim} x 4 bytes`,
      );
    }
  }

  /** A backend that fails to allocate (a RangeError from V8) reports it as LimitExceededError. */
  private allocation(error: unknown, count: number): never {
    if (isAllocationFailure(error)) {
      const bytes = count * this.config.outputDim * 4;
      throw new LimitExceededError('lookup output', bytes, bytes, this.opened.name, 'the allocation failed', { cause: error });
    }
    throw error;
  }

  /**
   * Looks up `indices` (any rank >= 1): the result has shape `[...indices.shape, outputDim]`,
   * Keras's `predict`. With `{ out }` the rows are written into the caller's Float32Array
   * (of exactly that many values, sharing no memory with the indices), which is returned as
   * the output's data: large lookups need not allocate. Rejects with `InvalidIndexError` for a
   * negative, non-integer or out-of-range index, `ShapeMismatchError` for a shape
   * `input_length` does not allow or a bad `out`, and `LimitExceededError` for an output over
   * the backend's `maxOutputBytes`.
   */
  async predict(indices: IndexInput, options: PredictOptions = {}): Promise<EmbeddingOutput> {
    const table = this.live();
    const count = indexCount(indices);
    if (count !== null) this.checkOutput(count);
    const { out } = options;
    if (out !== undefined) {
      // Against the caller's own memory, before core copies the indices.
      const given = ArrayBuffer.isView(indices) ? indices : (indices as { data?: unknown } | null)?.data;
      if (out instanceof Float32Array && given instanceof Int32Array && overlaps(out, given)) {
        throw new ShapeMismatchError(
          'options.out shares memory with the indices: writing the output would overwrite indices still being read. Pass a separate buffer.',
        );
      }
    }
    // Validated into core's own copy (reused across calls, see IndexScratch): the backend may
    // read it after an await while the caller changes its array.
    const checked = toIndexTensor(indices, this.config.inputDim, this.scratch.take);
    if (this.config.inputLength !== null) computeOutputShape(checked.shape, this.config.outputDim, this.config.inputLength);
    const n = checked.data.length;
    if (count === null) this.checkOutput(n);
    const size = n * this.config.outputDim;
    if (out !== undefined && (!(out instanceof Float32Array) || out.length !== size)) {
      throw new ShapeMismatchError(
        `options.out must be a Float32Array of ${size} values (shape [${[...checked.shape, this.config.outputDim].join(', ')}]), received ${
          out instanceof Float32Array ? `${out.length} values` : describeValue(out)
        }.`,
      );
    }
    // What use() does, inline: one async function between the caller and a synchronous backend.
    this.active++;
    try {
      if (this.resolved.maxNorm !== null) await this.renormalize(table, checked);
      const into = this.supports.lookupInto ? (out ?? this.outputs.take(size) ?? undefined) : undefined;
      const pending = into === undefined ? table.doLookup(checked) : table.doLookup(checked, into);
      const result = isPromiseLike(pending) ? await pending : pending;
      if (out !== undefined && result.data !== out) {
        out.set(result.data);
        return this.withLora(checked, { data: out, shape: result.shape });
      }
      const output = this.withLora(checked, result);
      return out === undefined ? this.outputs.disposable(output) : output;
    } catch (error) {
      return this.allocation(error, n);
    } finally {
      this.scratch.give(checked.data);
      this.settled();
    }
  }

  /**
   * A Float32Array to pass as `predict(x, { out })` for indices of shape `indicesShape`
   * (`product(indicesShape) * outputDim` values), placed where this layer's backend writes rows
   * fastest: adapter-js places it in the table's WebAssembly memory, where each row is written
   * once instead of through a scratch area (PyTorch's `out=` takes a tensor torch allocated;
   * this is the same idea). Other backends, or when there is no room now, give a plain
   * `new Float32Array`. Reuse it for lookups of that shape, and give it back with
   * {@link Embedding.releaseOutput} (or dispose the layer): a placed array is a view of memory
   * the layer owns, so its `.buffer` is that whole memory (do not transfer it or write through
   * other views of it), and after `releaseOutput` it may back another output. Throws
   * `ShapeMismatchError` for a shape `input_length` does not allow, `LimitExceededError` past
   * the backend's `maxOutputBytes`.
   */
  allocateOutput(indicesShape: readonly number[]): Float32Array {
    const table = this.live();
    computeOutputShape(indicesShape as number[], this.config.outputDim, this.config.inputLength);
    if (indicesShape.includes(null as never)) {
      throw new ShapeMismatchError(`allocateOutput expected a shape of known sizes, received ${describeValue(indicesShape)}.`);
    }
    const count = indicesShape.reduce((a, b) => a * b, 1);
    this.checkOutput(count);
    const length = count * this.config.outputDim;
    const placed = length > 0 && this.supports.lookupInto ? (table.doAllocateOutput?.(length) ?? null) : null;
    if (placed === null) return new Float32Array(length);
    this.placed.add(placed);
    return placed;
  }

  /**
   * Gives back an array {@link Embedding.allocateOutput} returned, once no lookup writes into
   * it: its memory may back a later output, so the array must not be used afterwards. A plain
   * array (or one given back already, or after `dispose`) is left to the garbage collector.
   * Throws `ShapeMismatchError` when `out` is not a Float32Array.
   */
  releaseOutput(out: Float32Array): void {
    if (!(out instanceof Float32Array)) {
      throw new ShapeMismatchError(`releaseOutput expected a Float32Array from allocateOutput, received ${describeValue(out)}.`);
    }
    if (!this.placed.delete(out) || this.table === null) return;
    this.table.doReleaseOutput?.(out);
  }

  /** A lookup's output with the LoRA delta of each looked-up row added (in place), when LoRA is enabled. */
  private withLora(indices: IndexTensor, output: EmbeddingOutput): EmbeddingOutput {
    if (this.lora) this.lora.addToLookup(indices.data, output.data);
    return output;
  }

  /**
   * PyTorch's `max_norm` (`torch.embedding_renorm_`): before a lookup, every distinct looked-up
   * row whose norm exceeds `maxNorm` is rescaled in the table, in place. Rows are gathered with
   * one `doLookup` and only the rescaled ones are written back (`doWriteRows`), so it runs on
   * every backend.
   */
  private async renormalize(table: EmbeddingTableV2<N>, indices: IndexTensor): Promise<void> {
    const { maxNorm, normType, outputDim: d } = this.resolved;
    if (maxNorm === null || indices.data.length === 0 || d === 0) return;
    const ids = distinctIds(indices);
    const rows = (await table.doLookup({ data: ids, shape: [ids.length] })).data;
    for (const k of renormRows(rows, d, maxNorm, normType)) await table.doWriteRows(ids[k]!, rows.slice(k * d, (k + 1) * d));
  }

  /** Keras's `compute_mask`: null unless `maskZero`; else 1 where index != 0, 0 where index == 0. */
  computeMask(indices: IndexInput): MaskTensor | null {
    this.live();
    if (!this.config.maskZero) return null;
    return computeMask(this.indices(indices, false), true);
  }

  /** Keras's `compute_output_shape`: `[...inputShape, outputDim]`, with `input_length` checks. */
  computeOutputShape(inputShape: SymbolicShape): (number | null)[] {
    return computeOutputShape(inputShape, this.config.outputDim, this.config.inputLength);
  }

  /** Validates a native index tensor with core's rules; the table's native hooks only see valid ones. */
  private nativeIndices(indices: unknown, what: string): { table: EmbeddingTableV2<N>; checked: IndexTensor } {
    const table = this.live();
    const native = this.opened.native;
    if (native === null) {
      throw new UnsupportedFeatureError(`native tensors (${what})`, this.opened.name, 'it has no native tensor type; use predict');
    }
    if (this.lora !== null && what === 'lookupNative') {
      throw new UnsupportedFeatureError(
        'lookupNative with LoRA enabled',
        this.opened.name,
        'the LoRA delta is added by core after the lookup; use predict, or mergeLora() first',
      );
    }
    if (this.resolved.maxNorm !== null && what === 'lookupNative') {
      throw new UnsupportedFeatureError(
        'lookupNative with max_norm',
        this.opened.name,
        'max_norm rescales table rows before the lookup, which the synchronous native path cannot do; use predict',
      );
    }
    const count = nativeCount(native, indices);
    if (count !== null) this.checkOutput(count);
    const checked = checkNativeIndices(native, indices, this.config.inputDim, what);
    computeOutputShape(checked.shape, this.config.outputDim, this.config.inputLength);
    return { table, checked };
  }

  /** Counts a possibly asynchronous native result as a call `dispose` waits for. */
  private settle<T>(result: T): T {
    if (!(result instanceof Promise)) return result;
    this.active++;
    return result.finally(() => {
      if (--this.active === 0) for (const wake of this.idle.splice(0)) wake();
    }) as T;
  }

  /**
   * A lookup on the backend's own tensor type (`supports` aside, a backend with a `native`
   * type: TF.js tensors on adapter-tfjs, ORT tensors on adapter-onnx): the indices are read and
   * validated with core's rules (the same errors as `predict`), then the table's native hook
   * gathers without a round trip through JS arrays. What it returns is the backend's (a
   * tensor, or a promise of tensors). Throws `UnsupportedFeatureError` on a backend without a
   * native type.
   */
  lookupNative(indices: N['input']): N['output'] {
    const { table, checked } = this.nativeIndices(indices, 'lookupNative');
    return this.settle(table.doLookupNative!(indices, checked));
  }

  /** `computeMask` on the backend's own tensor type: null unless `maskZero`, else the table's native mask of `indices != 0`. */
  computeMaskNative(indices: N['input']): N['mask'] | null {
    const { table, checked } = this.nativeIndices(indices, 'computeMaskNative');
    if (!this.config.maskZero) return null;
    if (typeof table.doMaskNative !== 'function') throw new UnsupportedFeatureError('native masks', this.opened.name);
    return this.settle(table.doMaskNative(indices, checked));
  }

  private checkRange(start: unknown, count: unknown): void {
    const rows = this.config.inputDim;
    if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0 || start > rows) {
      throw new ShapeMismatchError(`start must be an integer row in [0, ${rows}], received ${describeValue(start)}.`);
    }
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0 || start + count > rows) {
      throw new ShapeMismatchError(
        `count must be an integer with start + count <= input_dim (${rows}), received start ${start} and count ${describeValue(count)}.`,
      );
    }
  }

  /** Rows [start, start + count) through `doReadRows`, 16 MiB at a time, each answer checked. */
  private async readChunks(table: EmbeddingTableV2<N>, start: number, count: number): Promise<Float32Array> {
    const d = this.config.outputDim;
    const chunk = chunkRowsFor(d);
    let out: Float32Array | null = null;
    for (let r = 0; r < count || (r === 0 && count === 0); r += chunk) {
      const n = Math.min(chunk, count - r);
      const rows = await table.doReadRows(start + r, n);
      if (!(rows instanceof Float32Array) || rows.length !== n * d) {
        throw new InvalidWeightsError(
          `Backend "${this.opened.name}": doReadRows(${start + r}, ${n}) returned ${describeValue(rows)}, not a Float32Array of ${n * d} values.`,
        );
      }
      if (n === count) return rows;
      out ??= new Float32Array(count * d);
      out.set(rows, r * d);
    }
    return out ?? new Float32Array(0);
  }

  /**
   * Rows [start, start + count) of the table, row-major float32 (a copy; dequantized for float16
   * and int8 storage), read from the backend 16 MiB at a time: a big table is read in bounded
   * pieces, and a table too big for one Float32Array can be read at all.
   */
  async readRows(start: number, count: number): Promise<Float32Array> {
    this.checkRange(start, count);
    const size = count * this.config.outputDim;
    if (size > MAX_ARRAY_LENGTH)
      throw new LimitExceededError('row range', size * 4, MAX_ARRAY_LENGTH * 4, this.opened.name, 'one Float32Array');
    return this.use((table) => this.readChunks(table, start, count));
  }

  /**
   * Overwrites rows from `start` with `rows` (row-major, whole rows: a Float32Array,
   * Float64Array or number array whose length is a multiple of output_dim), written 16 MiB at
   * a time. NaN and Infinity are accepted, as in `setWeights`.
   */
  async writeRows(start: number, rows: Float32Array | Float64Array | readonly number[]): Promise<void> {
    const d = this.config.outputDim;
    const length = (rows as { length?: unknown })?.length;
    if (!(rows instanceof Float32Array || rows instanceof Float64Array || Array.isArray(rows)) || typeof length !== 'number') {
      throw new InvalidWeightsError(
        `writeRows expected a Float32Array, Float64Array or number array of whole rows, received ${describeValue(rows)}.`,
      );
    }
    if (d === 0 ? length !== 0 : length % d !== 0) {
      throw new InvalidWeightsError(`writeRows expected whole rows of ${d} values, received ${length} values.`);
    }
    const count = d === 0 ? 0 : length / d;
    this.checkRange(start, count);
    const checked = checkWeights([rows], count, d, 'writeRows');
    await this.use(async (table) => {
      const chunk = chunkRowsFor(d);
      for (let r = 0; r < count; r += chunk) {
        const n = Math.min(chunk, count - r);
        await table.doWriteRows(start + r, this.stored(checked.copyRows(r, n)));
      }
    });
  }

  /**
   * Keras's `get_weights()`: a list of one row-major Float32Array of inputDim * outputDim (a
   * copy), read from the backend 16 MiB at a time. A table over one Float32Array (2^32 - 1
   * values) is a `LimitExceededError`: read it with {@link Embedding.readRows}.
   */
  async getWeights(): Promise<Float32Array[]> {
    this.live();
    const { inputDim, outputDim } = this.config;
    const size = inputDim * outputDim;
    if (size > MAX_ARRAY_LENGTH) {
      throw new LimitExceededError(
        'table as one Float32Array',
        size * 4,
        MAX_ARRAY_LENGTH * 4,
        this.opened.name,
        'read it by rows with layer.readRows(start, count)',
      );
    }
    const table = await this.readRows(0, inputDim);
    // Keras 3's layer.weights order: embeddings, lora_embeddings_a, lora_embeddings_b.
    return this.lora ? [table, this.lora.a.slice(), this.lora.b.slice()] : [table];
  }

  /**
   * Keras's `set_weights([w])`: exactly one (inputDim, outputDim) matrix, flat or as rows. The
   * whole argument is checked before anything is written: a wrong count, length or type
   * rejects with `InvalidWeightsError` (with a short summary of what was received) and changes
   * nothing. Written 16 MiB at a time, through the backend's staged replacement when it has one
   * (readers see the old table or the new one).
   */
  async setWeights(weights: readonly WeightInput[]): Promise<void> {
    this.live();
    const { inputDim, outputDim } = this.config;
    let lora: { a: Float32Array; b: Float32Array } | null = null;
    if (this.lora) {
      // Keras 3: one array per weight of the layer, [embeddings, lora_embeddings_a, lora_embeddings_b].
      if (!Array.isArray(weights) || weights.length !== 3) {
        throw new InvalidWeightsError(
          `setWeights of a layer with LoRA enabled expected [table, lora_embeddings_a, lora_embeddings_b] (Keras 3's layer.weights order), received ${Array.isArray(weights) ? `a list of ${weights.length} arrays` : describeValue(weights)}.`,
        );
      }
      lora = checkLoraWeights(weights.slice(1), inputDim, outputDim, this.lora.rank, 'setWeights');
      weights = weights.slice(0, 1);
    }
    const checked = checkWeights(weights, inputDim, outputDim);
    const chunk = chunkRowsFor(outputDim);
    await this.use(async (table) => {
      if (typeof table.doBeginReplace !== 'function') {
        for (let r = 0; r < inputDim; r += chunk)
          await table.doWriteRows(r, this.stored(checked.copyRows(r, Math.min(chunk, inputDim - r))));
        return;
      }
      const staged = await table.doBeginReplace();
      try {
        for (let r = 0; r < inputDim; r += chunk) await staged.write(r, this.stored(checked.copyRows(r, Math.min(chunk, inputDim - r))));
      } catch (error) {
        await staged.abort();
        throw error;
      }
      await staged.commit();
    });
    if (lora && this.lora) {
      this.lora.a.set(lora.a);
      this.lora.b.set(lora.b);
    }
  }

  /** Reports NaN and infinite weights (which `setWeights` accepts, as Keras does), reading the table by rows. */
  async validate(): Promise<WeightReport> {
    const { inputDim, outputDim: d } = this.config;
    const chunk = chunkRowsFor(d);
    return this.use(async (table) => {
      const report = emptyReport();
      for (let r = 0; r < inputDim; r += chunk) addToReport(report, await this.readChunks(table, r, Math.min(chunk, inputDim - r)), d, r);
      return report;
    });
  }

  /**
   * Facts about the layer's table, as plain data: the backend's name, its specification
   * version and storage, then what the table reports (e.g. adapter-js's code path and shards,
   * the bytes stored).
   */
  describe(): TableDescription {
    const table = this.live();
    return Object.freeze({
      backend: this.opened.name,
      specificationVersion: this.opened.version,
      storage: this.supports.storage.dtype,
      // Whether the table is the caller's own array (shareWeights); a backend that kept it says so.
      sharesWeights: false,
      ...(table.doDescribe?.() ?? {}),
    });
  }

  /**
   * Keras 3's `enable_lora(rank, lora_alpha, a_initializer="he_uniform", b_initializer="zeros")`:
   * freezes the table and adds two trainable float32 matrices, `lora_embeddings_a` (input_dim x
   * rank, `he_uniform`) and `lora_embeddings_b` (rank x output_dim, zeros, so the output does not
   * change yet). From then on every lookup is `embeddings + (a @ b) * (alpha / rank)`, `fit`,
   * `trainOnBatch` and `applyGradients` train a and b with the compiled optimizer (the table
   * stays), `getWeights()` is `[table, a, b]`, and `config.loraRank` / `config.loraAlpha` are
   * set (io writes them as Keras 3's `lora_rank` / `lora_alpha`). The initializers are seeded
   * from `options.seed`, else the layer's seed (`seed + 1`), else fresh.
   *
   * Throws `InvalidConfigError` as Keras raises ValueError: with an `embeddingsConstraint`
   * ("Lora is incompatible with embedding constraints"), when LoRA is already enabled, for a
   * rank that is not a positive integer; and with `maxNorm` (not a Keras argument).
   */
  enableLora(rank: number, options: EnableLoraOptions = {}): void {
    this.live();
    if (this.resolved.embeddingsConstraint !== null) {
      throw new InvalidConfigError(
        `Lora is incompatible with embedding constraints (embeddings_constraint is ${this.resolved.embeddingsConstraint.className}). In order to enable lora on this layer, remove the \`embeddings_constraint\` argument.`,
      );
    }
    if (this.lora) throw new InvalidConfigError('lora is already enabled. This can only be done once per layer.');
    if (this.resolved.maxNorm !== null) {
      throw new InvalidConfigError(
        `enableLora: the layer has max_norm ${this.resolved.maxNorm}, which rescales the frozen table and not the LoRA delta; create the layer without maxNorm.`,
      );
    }
    checkLoraRank(rank, 'enableLora rank');
    const { inputDim, outputDim, seed } = this.resolved;
    this.lora = LoraWeights.initialize(inputDim, outputDim, rank, options ?? {}, options?.seed ?? loraSeed(seed));
    this.resolved = Object.freeze({ ...this.resolved, loraRank: rank, loraAlpha: this.lora.alpha });
  }

  /** Whether LoRA is enabled (Keras 3's `layer.lora_enabled`). */
  get loraEnabled(): boolean {
    return this.lora !== null;
  }

  /**
   * Folds LoRA into the table: every row becomes `embeddings + (a @ b) * (alpha / rank)` (the
   * value Keras 3's `save_own_variables` writes), written through the backend 16 MiB at a time
   * (after `quantize(mode)` the merged rows are quantized again, as Keras re-quantizes them on
   * save; quantized storage stores them with its own codec);
   * then LoRA is disabled, `getWeights()` is `[table]` again and `config.loraRank` is null.
   * A layer without LoRA is left as it is. (Keras 3 has no such method on its Embedding: it
   * merges only when saving.)
   */
  async mergeLora(): Promise<void> {
    this.live();
    const lora = this.lora;
    if (!lora) return;
    const { inputDim, outputDim } = this.resolved;
    await this.use(async (table) => {
      const chunk = chunkRowsFor(outputDim);
      for (let r = 0; r < inputDim; r += chunk) {
        const n = Math.min(chunk, inputDim - r);
        const rows = lora.mergeInto(r, await this.readChunks(table, r, n));
        // A quantized layer stays quantized: the merged rows are quantized again, as Keras re-quantizes them on save.
        if (this.quantized) fakeQuantize(rows, n, outputDim, this.quantized);
        await table.doWriteRows(r, rows);
      }
    });
    this.lora = null;
    this.resolved = Object.freeze({ ...this.resolved, loraRank: null, loraAlpha: null });
  }

  /**
   * Rows [start, start + count) as Keras 3's `embeddings` property gives them: the table with
   * the LoRA delta merged when LoRA is enabled (what `save_own_variables` writes), else the
   * table. io's writers save this.
   */
  async readMergedRows(start: number, count: number): Promise<Float32Array> {
    const rows = await this.readRows(start, count);
    return this.lora ? this.lora.mergeInto(start, rows) : rows;
  }

  /** Rows as the table keeps them: after `quantize(mode)`, Keras's `q / scale` of each row (written rows are quantized, as Keras's variables are). */
  private stored(rows: Float32Array): Float32Array {
    return this.quantized
      ? fakeQuantize(
          rows,
          this.resolved.outputDim === 0 ? 0 : rows.length / this.resolved.outputDim,
          this.resolved.outputDim,
          this.quantized,
        )
      : rows;
  }

  /** The quantization applied by {@link Embedding.quantize} (Keras 3's `layer.quantization_mode`), or null. */
  get quantizationMode(): QuantizationMode | null {
    return this.quantized;
  }

  /**
   * Keras 3's `layer.quantize(mode)` with its default per-row configs: `'int8'` (abs-max,
   * `scale = 127 / (max|row| + 1e-7)`, values in [-127, 127]) or `'int4'` (per-channel:
   * `scale = 7 / (max|row| + 1e-7)`, values in [-8, 7]; Keras 3.14+'s bare `quantize("int4")`
   * defaults to groups of 128 columns with zero points, which is not implemented: this is
   * `Int4QuantizationConfig(block_size=-1)`). Every row of the table becomes `q / scale`, the
   * value Keras's quantized lookup returns, through core's codec; the table is then frozen (Keras
   * keeps quantized embeddings non-trainable; LoRA enabled before or after still trains). Rows
   * written later (`setWeights`, `writeRows`) are quantized the same way. How many bytes the
   * table takes is the backend's storage (e.g. `createJsBackend({ storage: 'int4' })`); io writes the Keras 3 layout with `saveEmbedding(..., { kerasQuantize })`.
   * Throws `InvalidConfigError` for another mode or a layer already quantized (as Keras).
   */
  async quantize(mode: QuantizationMode): Promise<void> {
    this.live();
    if (mode !== 'int8' && mode !== 'int4') {
      throw new InvalidConfigError(
        `Invalid quantization mode. Expected one of ('int8', 'int4'). Received: quantization_mode=${describeValue(mode)}.`,
      );
    }
    if (this.quantized) {
      throw new InvalidConfigError(`Layer ${this.resolved.name} is already quantized with mode ${this.quantized}; quantize a layer once.`);
    }
    const { inputDim, outputDim: d } = this.resolved;
    await this.use(async (table) => {
      const chunk = chunkRowsFor(d);
      for (let r = 0; r < inputDim; r += chunk) {
        const n = Math.min(chunk, inputDim - r);
        const rows = await this.readChunks(table, r, n);
        await table.doWriteRows(r, fakeQuantize(rows, n, d, mode));
      }
    });
    this.quantized = mode;
  }

  /** Keras 2's `get_config()`: snake_case keys, initializer as `{ class_name, config }`. */
  getConfig(): KerasEmbeddingLayerConfig {
    return toKerasConfig(this.config);
  }

  private requireTraining(): void {
    if (!this.supports.training) throw new UnsupportedFeatureError('training', this.opened.name);
  }

  /** The table as the trainer uses it (a training step runs inside one counted call). */
  private trainingTable(table: EmbeddingTableV2<N>): TrainingTable {
    return {
      lookup: async (indices) => {
        this.checkOutput(indices.data.length);
        await this.renormalize(table, indices);
        return this.withLora(indices, await table.doLookup(indices));
      },
      lora: this.lora,
      frozen: this.quantized !== null,
      readRows: (start, count) => this.readChunks(table, start, count),
      writeRows: async (start, rows) => table.doWriteRows(start, rows),
      scatterAdd: async (rows, deltas) => {
        if (!table.doScatterAdd) throw new UnsupportedFeatureError('training', this.opened.name);
        await table.doScatterAdd(rows, deltas);
      },
      ...(this.supports.optimizers.length > 0 && table.doApplyOptimizer
        ? {
            optimizers: this.supports.optimizers,
            applyOptimizer: async (rows: Int32Array, gradients: Float64Array, optimizer: KerasObject, iteration: number) => {
              await table.doApplyOptimizer!(rows, gradients, optimizer, iteration);
            },
          }
        : {}),
    };
  }

  /**
   * Keras's `compile(optimizer, loss)`: `layer.compile('rmsprop', 'mse')` or
   * `layer.compile({ optimizer, loss })`. Optimizers: sgd, rmsprop, adam, adagrad, by name or
   * `{ className, config }` with Keras's keys and defaults; losses: mse, mae,
   * cosine_similarity. Resets the optimizer state held by core (a backend that applies the
   * optimizer itself, `supports.optimizers`, keeps its own state, e.g. beside the rows).
   */
  compile(optimizer: CompileOptions | OptimizerIdentifier, loss?: LossIdentifier): void {
    this.live();
    const options: CompileOptions =
      typeof optimizer === 'object' && optimizer !== null && 'loss' in optimizer && 'optimizer' in optimizer
        ? (optimizer as CompileOptions)
        : { optimizer: optimizer as OptimizerIdentifier, loss: loss as LossIdentifier };
    if (options.loss === undefined)
      throw new InvalidConfigError('compile needs a loss: compile(optimizer, loss), e.g. compile("rmsprop", "mse").');
    this.trainer = new Trainer(this.config, options);
  }

  private compiled(): Trainer {
    if (!this.trainer)
      throw new InvalidConfigError(`Embedding "${this.config.name}" is not compiled: call compile(optimizer, loss) first.`);
    return this.trainer;
  }

  private batchTargets(indices: IndexTensor, y: TargetInput): Float32Array {
    return toTargetArray(y, [...indices.shape, this.config.outputDim]);
  }

  /**
   * Keras's `train_on_batch(x, y)`: one optimizer step on one batch, where the model is this
   * layer alone (its output is compared with `y`, shaped `[...x.shape, outputDim]`). Returns
   * the loss before the update, including regularization losses.
   */
  async trainOnBatch(x: IndexInput, y: TargetInput): Promise<number> {
    this.live();
    const trainer = this.compiled();
    this.requireTraining();
    const indices = this.indices(x);
    const targets = this.batchTargets(indices, y);
    return this.use((table) => trainer.trainStep(this.trainingTable(table), indices, targets, this.dropoutRng));
  }

  /**
   * Keras's `evaluate(x, y)`: the mean loss over batches (weighted by batch size), including
   * regularization losses, without updating anything and without dropout.
   */
  async evaluate(x: IndexInput, y: TargetInput, options: { batchSize?: number } = {}): Promise<number> {
    this.live();
    const trainer = this.compiled();
    const indices = this.indices(x);
    const targets = this.batchTargets(indices, y);
    let total = 0;
    let seen = 0;
    for (const b of batches(indices, targets, this.config.outputDim, options.batchSize ?? 32, null)) {
      total += (await this.use((table) => trainer.evaluate(this.trainingTable(table), b.indices, b.targets))) * b.size;
      seen++;
    }
    return seen === 0 ? 0 : total / (indices.shape[0] ?? 1);
  }

  /**
   * Keras's `fit(x, y, epochs, batch_size, shuffle)`: trains in place and returns the history
   * of the mean loss per epoch. `seed` fixes the shuffling and the embedding dropout.
   * `dispose()` during `fit` (from a callback or elsewhere) stops it with `DisposedError` at the
   * next batch, after the running batch has finished.
   */
  async fit(x: IndexInput, y: TargetInput, options: FitOptions = {}): Promise<History> {
    this.live();
    const trainer = this.compiled();
    this.requireTraining();
    const indices = this.indices(x);
    const targets = this.batchTargets(indices, y);
    const rng = options.seed !== undefined ? new Xoshiro128(options.seed) : this.dropoutRng;
    return fitLoop(indices, targets, this.config.outputDim, options, rng, (batch) =>
      this.use((table) => trainer.trainStep(this.trainingTable(table), batch.indices, batch.targets, rng)),
    );
  }

  /**
   * One optimizer step from an upstream gradient, for callers who bring dLoss/dOutput from
   * their own model: `outputGradient` has the lookup's output shape `[...indices.shape,
   * outputDim]`. The table gradient is sparse (distinct rows, duplicates summed); the
   * compiled optimizer applies it (an uncompiled layer uses SGD with `learningRate`, default
   * 0.01), then the embeddings regularizer's gradient and the constraint are applied as in
   * `fit`. Rejects with `UnsupportedFeatureError` when the backend lacks `training`; does
   * nothing when the layer is not trainable.
   */
  async applyGradients(indices: IndexInput, outputGradient: Float32Array, options: ApplyGradientsOptions = {}): Promise<void> {
    this.live();
    this.requireTraining();
    const checked = this.indices(indices);
    const { outputDim } = this.config;
    const expected = checked.data.length * outputDim;
    if (!(outputGradient instanceof Float32Array) || outputGradient.length !== expected) {
      throw new ShapeMismatchError(
        `outputGradient must be a Float32Array of ${expected} values (shape [${[...checked.shape, outputDim].join(', ')}]), received ${
          outputGradient instanceof Float32Array ? `${outputGradient.length} values` : describeValue(outputGradient)
        }.`,
      );
    }
    let trainer = this.trainer;
    if (!trainer) {
      const learningRate = options.learningRate ?? 0.01;
      if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate < 0) {
        throw new InvalidConfigError(`learningRate must be a finite number >= 0, received ${describeValue(learningRate)}.`);
      }
      trainer = new Trainer(this.config, { optimizer: { className: 'SGD', config: { learning_rate: learningRate } }, loss: 'mse' });
    }
    const step = trainer;
    await this.use((table) => step.applyOutputGradient(this.trainingTable(table), checked, outputGradient));
  }

  /**
   * Serializes the layer in a format its backend exports (`supports.export`, e.g. `'onnx'`).
   * Rejects with `UnsupportedFeatureError` for a format the backend does not list.
   */
  async export(format: string): Promise<Uint8Array> {
    const table = this.live();
    if (!this.supports.export.includes(format) || !table.doExport) {
      throw new UnsupportedFeatureError(
        `export to ${JSON.stringify(format)}`,
        this.opened.name,
        `it exports: ${this.supports.export.join(', ') || 'nothing'}`,
      );
    }
    return this.use((t) => t.doExport!(format));
  }

  /**
   * Releases the backend's resources, after the calls already running have settled. Later
   * calls throw `DisposedError` (a running `fit` stops at its next batch); a second dispose is
   * a no-op.
   */
  async dispose(): Promise<void> {
    if (this.disposing) return this.disposing;
    const table = this.table;
    this.table = null;
    if (!table) return;
    this.outputs.close();
    this.placed.clear();
    this.disposing = (async () => {
      if (this.active > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      await table.doDispose();
    })();
    return this.disposing;
  }
}

/**
 * The validated indices, copied when they still share memory with the caller's array: the
 * backend runs after an await, and the caller may change its array meanwhile (the values used
 * must be the values validated). A copy of the indices is 1/output_dim of the output's size.
 */
function ownIndices(checked: IndexTensor, input: IndexInput): IndexTensor {
  const given = ArrayBuffer.isView(input) ? input : (input as { data?: unknown } | null)?.data;
  if (ArrayBuffer.isView(given) && given.buffer === checked.data.buffer) return { ...checked, data: checked.data.slice() };
  return checked;
}

/** Keras 3's quantization modes of `Embedding.quantize`. */
export type QuantizationMode = 'int8' | 'int4';

/** Rows replaced, in place, by Keras 3's quantized values `q / scale` of `mode` (core's codec). */
function fakeQuantize(rows: Float32Array, count: number, d: number, mode: QuantizationMode): Float32Array {
  if (mode === 'int4') {
    const { packed, scales } = encodeInt4(rows, count, d);
    return decodeInt4(packed, scales, d, rows);
  }
  const { values, scales } = encodeInt8(rows, count, d);
  return decodeInt8(values, scales, d, rows);
}

/** The LoRA initializers' seed: the layer's seed plus one (so a differs from the table), or null for fresh. */
function loraSeed(seed: number | null): number | null {
  return seed === null ? null : seed + 1;
}

/** Checks `[lora_embeddings_a, lora_embeddings_b]` of a layer (input_dim x rank and rank x output_dim). */
function checkLoraWeights(
  weights: readonly WeightInput[],
  inputDim: number,
  outputDim: number,
  rank: number,
  what: string,
): { a: Float32Array; b: Float32Array } {
  return {
    a: checkWeights([weights[0]], inputDim, rank, `${what} (lora_embeddings_a)`).copyRows(0, inputDim),
    b: checkWeights([weights[1]], rank, outputDim, `${what} (lora_embeddings_b)`).copyRows(0, rank),
  };
}
