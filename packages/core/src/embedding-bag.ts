import {
  checkBagOptions,
  defaultBagName,
  type EmbeddingBagConfig,
  type ResolvedEmbeddingBagConfig,
  splitBagConfig,
} from './config/embedding-bag-config.js';
import { Embedding, type EmbeddingCreateOptions, type PretrainedWeights } from './embedding.js';
import { describeValue } from './errors/describe-value.js';
import { DisposedError } from './errors/disposed-error.js';
import { InvalidConfigError } from './errors/invalid-config-error.js';
import { ShapeMismatchError } from './errors/shape-mismatch-error.js';
import { UnsupportedFeatureError } from './errors/unsupported-feature-error.js';
import { freshSeed, Xoshiro128 } from './random/prng.js';
import type { KerasObject } from './serialization/keras-object.js';
import type { BackendCapabilitiesV2, NativeTypes, TableDescription } from './spec/v2/embedding-backend-v2.js';
import {
  type BagMode,
  type Bags,
  bagRowGradient,
  checkPerSampleWeights,
  type OffsetsInput,
  type PerSampleWeightsInput,
  poolBags,
  resolveBags,
} from './tensor/bags.js';
import { toIndexTensor } from './tensor/indices.js';
import { CHUNK_BYTES } from './tensor/limits.js';
import type { EmbeddingOutput, IndexInput, IndexTensor } from './tensor/types.js';
import type { WeightReport } from './tensor/validate.js';
import type { WeightInput } from './tensor/weights.js';
import { type FitOptions, fitSettings, type History, permutation } from './training/fit.js';
import { type LossIdentifier, lossAndGradient, resolveLoss } from './training/losses.js';
import type { OptimizerIdentifier } from './training/optimizers/registry.js';
import { type TargetInput, toTargetArray } from './training/targets.js';
import type { CompileOptions } from './training/trainer.js';

/** How the indices of a call form bags: torch's `offsets` and `per_sample_weights` arguments of `forward`. */
export interface BagOptions {
  /** For 1-D indices: where each bag starts (torch's `offsets`; with `includeLastOffset`, one more entry: the end). Absent for 2-D indices. */
  offsets?: OffsetsInput;
  /** torch's `per_sample_weights` (mode `'sum'` only): one weight per index, flat or shaped like the indices. */
  perSampleWeights?: PerSampleWeightsInput;
}

/** Options of {@link EmbeddingBag.fit}: Keras's `fit` options plus the bags' offsets and weights. */
export interface BagFitOptions extends FitOptions, BagOptions {}

/** Options of {@link EmbeddingBag.applyGradients}. */
export interface BagApplyGradientsOptions extends BagOptions {
  /** For a layer that is not compiled: the step size of plain SGD. Default 0.01. */
  learningRate?: number;
}

/** Options of {@link EmbeddingBag.fromPretrained}: PyTorch's `EmbeddingBag.from_pretrained` arguments. */
export interface BagFromPretrainedOptions {
  /** torch's `freeze`: the table stays as given in training. Default true. */
  freeze?: boolean;
  /** torch's `mode`. Default `'mean'`. */
  mode?: BagMode;
  /** torch's `padding_idx` (the row keeps its given values; it is left out of the bags and gets no gradient). Default null. */
  paddingIdx?: number | null;
  /** torch's `max_norm`. Default null. */
  maxNorm?: number | null;
  /** torch's `norm_type`. Default 2. */
  normType?: number;
  /** torch's `scale_grad_by_freq`. Default false. */
  scaleGradByFreq?: boolean;
  /** torch's `include_last_offset`. Default false. */
  includeLastOffset?: boolean;
  /** Layer name. */
  name?: string;
}

/** Indices, their bags and weights, validated once for a call. */
interface BagInput {
  indices: IndexTensor;
  bags: Bags;
  weights: Float64Array | null;
}

/**
 * PyTorch's `nn.EmbeddingBag`: looks up bags of indices and pools each bag's rows into one
 * vector (`'sum'`, `'mean'` or `'max'`), the layer behind recommenders and model2vec-style
 * sentence vectors, without materializing `[bags, length, outputDim]` for the caller.
 *
 * torch: `nn.EmbeddingBag(1000, 64, mode='sum')(input, offsets)`; here:
 * `(await EmbeddingBag.create({ inputDim: 1000, outputDim: 64, mode: 'sum' }, { backend })).predict(input, { offsets })`.
 *
 * The table is an {@link Embedding} on the given backend (its lookup, `max_norm`, `padding_idx`,
 * training and storage, on every backend); the bags, the pooling and its gradient are computed
 * here, in core, once, as torch 1.13 defines them. Indices are validated as `Embedding`
 * validates them; offsets and per-sample weights by torch's rules, with typed errors naming
 * the value and its position.
 */
export class EmbeddingBag<N extends NativeTypes = NativeTypes> {
  private readonly table: Embedding<N>;
  private readonly mode: BagMode;
  private readonly includeLastOffset: boolean;
  private loss: KerasObject | null = null;
  /** The buffer of looked-up rows, kept between calls (see `forward`); null while a call holds it. */
  private scratch: Float32Array | null = null;
  private readonly rng: Xoshiro128;

  private constructor(table: Embedding<N>, mode: BagMode, includeLastOffset: boolean) {
    this.table = table;
    this.mode = mode;
    this.includeLastOffset = includeLastOffset;
    this.rng = new Xoshiro128(table.config.seed ?? freshSeed());
  }

  /**
   * Validates `config` and creates the table on `options.backend` (from the initializer, or
   * `options.weights`), as `Embedding.create` does; the padding row of an initialized table is
   * zeros (torch). Rejects with `InvalidConfigError` for a bad or unknown argument (the list of
   * known ones in the message) and as `Embedding.create` otherwise.
   */
  static async create<N extends NativeTypes = NativeTypes>(
    config: EmbeddingBagConfig,
    options: EmbeddingCreateOptions<N>,
  ): Promise<EmbeddingBag<N>> {
    const { mode, includeLastOffset, table } = splitBagConfig(config);
    return new EmbeddingBag(await Embedding.create<N>(table, options), mode, includeLastOffset);
  }

  /**
   * PyTorch's `nn.EmbeddingBag.from_pretrained(embeddings, freeze=True, max_norm, norm_type,
   * scale_grad_by_freq, mode='mean', sparse, include_last_offset, padding_idx)`: a layer whose
   * table is `weights` (rows of numbers, or `{ data, shape: [rows, cols] }`), frozen unless
   * `freeze: false`; the padding row keeps its given values.
   */
  static async fromPretrained<N extends NativeTypes = NativeTypes>(
    weights: PretrainedWeights,
    options: BagFromPretrainedOptions = {},
    createOptions: Omit<EmbeddingCreateOptions<N>, 'weights'>,
  ): Promise<EmbeddingBag<N>> {
    const known = ['freeze', 'mode', 'paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'includeLastOffset', 'name'];
    for (const key of Object.keys(options ?? {})) {
      if (!known.includes(key)) {
        throw new InvalidConfigError(
          `Unknown EmbeddingBag.fromPretrained option ${JSON.stringify(key)}. Known options: ${known.join(', ')}.`,
        );
      }
    }
    const { mode = 'mean', includeLastOffset = false, ...rest } = options ?? {};
    checkBagOptions(mode, includeLastOffset, rest.scaleGradByFreq ?? false);
    const name = rest.name ?? defaultBagName();
    return new EmbeddingBag(await Embedding.fromPretrained<N>(weights, { ...rest, name }, createOptions), mode, includeLastOffset);
  }

  /** The validated config, with torch's defaults filled in. */
  get config(): ResolvedEmbeddingBagConfig {
    const c = this.table.config;
    return Object.freeze({
      inputDim: c.inputDim,
      outputDim: c.outputDim,
      mode: this.mode,
      paddingIdx: c.paddingIdx,
      maxNorm: c.maxNorm,
      normType: c.normType,
      scaleGradByFreq: c.scaleGradByFreq,
      includeLastOffset: this.includeLastOffset,
      embeddingsInitializer: c.embeddingsInitializer,
      seed: c.seed,
      name: c.name,
      trainable: c.trainable,
      dtype: c.dtype,
    });
  }

  /** Whether training updates the table (torch's `weight.requires_grad`); settable after creation, as `Embedding.trainable`. */
  get trainable(): boolean {
    return this.table.trainable;
  }

  /** Freezes (`false`) or unfreezes (`true`) the table; a non-boolean is an `InvalidConfigError`. */
  set trainable(value: boolean) {
    this.table.trainable = value;
  }

  /** The values of the table, input_dim x output_dim. */
  countParams(): number {
    return this.table.countParams();
  }

  /**
   * A Keras-like `summary()` of the layer as a one-layer model, as `Embedding.summary` writes
   * it: name and class, output shape `(None, outputDim)` (one row per bag), parameter counts.
   * Returns the text (and prints nothing).
   */
  summary(): string {
    const { name, outputDim } = this.config;
    const params = this.countParams();
    const fmt = (n: number) => n.toLocaleString('en-US');
    const row = (a: string, b: string, c: string) => `${a.padEnd(29)}${b.padEnd(26)}${c}`;
    const rule = (ch: string) => ch.repeat(65);
    return [
      `Model: "${name}"`,
      rule('_'),
      row(' Layer (type)', 'Output Shape', 'Param #'),
      rule('='),
      row(` ${name} (EmbeddingBag)`, `(None, ${outputDim})`, fmt(params)),
      rule('='),
      `Total params: ${fmt(params)}`,
      `Trainable params: ${fmt(this.trainable ? params : 0)}`,
      `Non-trainable params: ${fmt(this.trainable ? 0 : params)}`,
      rule('_'),
    ].join('\n');
  }

  /** The backend's capability manifest. */
  get supports(): BackendCapabilitiesV2 {
    return this.table.supports;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.table.disposed;
  }

  /** Facts about the table (backend, storage, ...), as `Embedding.describe`. */
  describe(): TableDescription {
    return this.table.describe();
  }

  /**
   * The table as an `Embedding` (the same backend table, not a copy): for a per-index lookup
   * of the rows the bags pool, `export`, or anything else `Embedding` has.
   */
  get embedding(): Embedding<N> {
    return this.table;
  }

  /** Validates indices (as `Embedding` does), then the bags and weights (torch's rules). */
  private input(indices: IndexInput, options: BagOptions | undefined): BagInput {
    if (this.table.disposed) throw new DisposedError(`EmbeddingBag "${this.config.name}" was disposed; create a new layer.`);
    const checked = toIndexTensor(indices, this.config.inputDim);
    const bags = resolveBags(checked, options?.offsets, this.includeLastOffset);
    const weights = checkPerSampleWeights(options?.perSampleWeights, checked, this.mode);
    // The table's lookup runs after awaits: it gets its own copy of indices that share the caller's memory.
    const given = ArrayBuffer.isView(indices) ? indices : (indices as { data?: unknown } | null)?.data;
    const owned = ArrayBuffer.isView(given) && given.buffer === checked.data.buffer ? { ...checked, data: checked.data.slice() } : checked;
    return { indices: owned, bags, weights };
  }

  /**
   * Looks up every index (renormalizing rows over `maxNorm` first, as torch) and pools the bags.
   * The looked-up rows go into a buffer the layer keeps between calls (up to 16 MiB; a call
   * that finds it taken by another one allocates its own), so repeated calls do not allocate them.
   */
  private async forward(input: BagInput): Promise<{ output: Float32Array; argmax: Int32Array | null }> {
    const { outputDim, paddingIdx } = this.table.config;
    const size = input.indices.data.length * outputDim;
    const kept = this.scratch !== null && this.scratch.length >= size ? this.scratch : null;
    if (kept !== null) this.scratch = null;
    const buffer = kept ?? new Float32Array(size);
    try {
      const rows = await this.table.predict(input.indices, { out: buffer.length === size ? buffer : buffer.subarray(0, size) });
      return poolBags(rows.data, input.indices.data, input.bags, outputDim, this.mode, paddingIdx, input.weights);
    } finally {
      if (buffer.byteLength <= CHUNK_BYTES && (this.scratch === null || this.scratch.length < buffer.length)) this.scratch = buffer;
    }
  }

  /**
   * torch's `EmbeddingBag.forward(input, offsets, per_sample_weights)`: the pooled rows of each
   * bag, shape `[bags, outputDim]`. 2-D indices `[B, L]` are B bags of L; 1-D indices need
   * `offsets`. Indices equal to `paddingIdx` are left out of their bag (and of the mean's
   * count); an empty bag gives zeros; `max` takes each column's max over the bag. Rejects with
   * `InvalidIndexError` for a bad index, `ShapeMismatchError` for bad offsets or weights (the
   * offending value and its position), `InvalidConfigError` for `perSampleWeights` in a mode
   * other than `'sum'`, and `LimitExceededError` when the looked-up rows exceed the backend's
   * `maxOutputBytes`.
   */
  async predict(indices: IndexInput, options: BagOptions = {}): Promise<EmbeddingOutput> {
    const input = this.input(indices, options);
    const { output } = await this.forward(input);
    return { data: output, shape: [input.bags.starts.length, this.config.outputDim] };
  }

  /**
   * Keras's `compile(optimizer, loss)`, as `Embedding.compile`: the optimizers (sgd, rmsprop,
   * adam, adagrad, by name or `{ className, config }`) and losses (mse, mae, cosine_similarity)
   * of `Embedding`; the loss compares the pooled output `[bags, outputDim]` with the targets.
   */
  compile(optimizer: CompileOptions | OptimizerIdentifier, loss?: LossIdentifier): void {
    this.table.compile(optimizer, loss);
    const options = typeof optimizer === 'object' && optimizer !== null && 'loss' in optimizer ? (optimizer as CompileOptions) : null;
    this.loss = resolveLoss(options ? options.loss : (loss as LossIdentifier));
  }

  private compiledLoss(): KerasObject {
    if (this.loss === null) {
      throw new InvalidConfigError(`EmbeddingBag "${this.config.name}" is not compiled: call compile(optimizer, loss) first.`);
    }
    return this.loss;
  }

  private requireTraining(): void {
    if (!this.supports.training) throw new UnsupportedFeatureError('training', String(this.describe().backend));
  }

  /** Loss of one batch and, when `update`, one optimizer step through the table's sparse row gradient. */
  private async step(input: BagInput, targets: Float32Array, update: boolean): Promise<number> {
    const loss = this.compiledLoss();
    const { outputDim: d, paddingIdx } = this.table.config;
    const { output, argmax } = await this.forward(input);
    const { value, gradient } = lossAndGradient(loss, targets, output, d);
    if (update) {
      const rows = bagRowGradient(gradient, input.indices.data, input.bags, d, this.mode, paddingIdx, input.weights, argmax);
      await this.table.applyGradients(input.indices, rows);
    }
    return value;
  }

  private targets(input: BagInput, y: TargetInput): Float32Array {
    return toTargetArray(y, [input.bags.starts.length, this.config.outputDim]);
  }

  /**
   * Keras's `train_on_batch(x, y)` for bags: one optimizer step where the model is this layer
   * alone (the pooled output `[bags, outputDim]` is compared with `y`). The gradient is sparse
   * (the looked-up rows only): `sum` passes each bag's gradient to its rows (times their
   * per-sample weights), `mean` divides it by the bag's count, `max` routes each column to the
   * row that gave the max (the first on a tie, as torch); `paddingIdx` gets none;
   * `scaleGradByFreq` divides by each row's count in the batch. Returns the loss before the
   * update. Rejects with `UnsupportedFeatureError` on a backend without `training`.
   */
  async trainOnBatch(x: IndexInput, y: TargetInput, options: BagOptions = {}): Promise<number> {
    this.compiledLoss();
    this.requireTraining();
    const input = this.input(x, options);
    return this.step(input, this.targets(input, y), true);
  }

  /** Keras's `evaluate(x, y)` for bags: the loss of the pooled output against `y`, without updating anything. */
  async evaluate(x: IndexInput, y: TargetInput, options: BagOptions = {}): Promise<number> {
    this.compiledLoss();
    const input = this.input(x, options);
    return this.step(input, this.targets(input, y), false);
  }

  /**
   * Keras's `fit(x, y, epochs, batch_size, shuffle)` over bags: `batchSize` bags per step
   * (shuffled unless `shuffle: false`; `seed` fixes the order), one target row per bag.
   * Returns the history of the mean loss per epoch.
   */
  async fit(x: IndexInput, y: TargetInput, options: BagFitOptions = {}): Promise<History> {
    this.compiledLoss();
    this.requireTraining();
    const { epochs, batchSize } = fitSettings(options);
    const input = this.input(x, options);
    const targets = this.targets(input, y);
    const d = this.config.outputDim;
    const count = input.bags.starts.length;
    const rng = options.seed !== undefined ? new Xoshiro128(options.seed) : this.rng;
    const history: History = { epoch: [], history: { loss: [] } };
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = options.shuffle === false ? null : permutation(count, rng);
      let total = 0;
      let b = 0;
      for (let first = 0; first < count; first += batchSize) {
        const size = Math.min(batchSize, count - first);
        const batch = sliceBags(input, targets, d, first, size, order);
        const loss = await this.step(batch.input, batch.targets, true);
        total += loss * size;
        await options.callbacks?.onBatchEnd?.(b++, { loss });
      }
      const loss = count === 0 ? 0 : total / count;
      history.epoch.push(epoch);
      history.history.loss.push(loss);
      await options.callbacks?.onEpochEnd?.(epoch, { loss });
    }
    return history;
  }

  /**
   * One optimizer step from an upstream gradient, for callers who bring dLoss/dOutput of the
   * pooled output (`[bags, outputDim]`) from their own model: the bags are looked up again
   * (for `max`, to find the rows that gave the max), the gradient of the pooling is applied
   * to the table's rows as `trainOnBatch` does, through the compiled optimizer (an uncompiled
   * layer uses SGD with `learningRate`, default 0.01). Does nothing to a frozen table.
   */
  async applyGradients(indices: IndexInput, outputGradient: Float32Array, options: BagApplyGradientsOptions = {}): Promise<void> {
    this.requireTraining();
    const input = this.input(indices, options);
    const { outputDim: d, paddingIdx } = this.table.config;
    const expected = input.bags.starts.length * d;
    if (!(outputGradient instanceof Float32Array) || outputGradient.length !== expected) {
      throw new ShapeMismatchError(
        `outputGradient must be a Float32Array of ${expected} values (shape [${input.bags.starts.length}, ${d}]: one row per bag), received ${
          outputGradient instanceof Float32Array ? `${outputGradient.length} values` : describeValue(outputGradient)
        }.`,
      );
    }
    const argmax = this.mode === 'max' ? (await this.forward(input)).argmax : null;
    const rows = bagRowGradient(outputGradient, input.indices.data, input.bags, d, this.mode, paddingIdx, input.weights, argmax);
    const { learningRate } = options;
    await this.table.applyGradients(input.indices, rows, learningRate === undefined ? {} : { learningRate });
  }

  /** torch's `weight`: the table as one row-major Float32Array (a copy), as `Embedding.getWeights`. */
  async getWeights(): Promise<Float32Array[]> {
    return this.table.getWeights();
  }

  /** Replaces the table, as `Embedding.setWeights` (one `[inputDim, outputDim]` matrix). */
  async setWeights(weights: readonly WeightInput[]): Promise<void> {
    return this.table.setWeights(weights);
  }

  /** Rows [start, start + count) of the table (a copy), as `Embedding.readRows`. */
  async readRows(start: number, count: number): Promise<Float32Array> {
    return this.table.readRows(start, count);
  }

  /** Overwrites rows from `start`, as `Embedding.writeRows`. */
  async writeRows(start: number, rows: Float32Array | Float64Array | readonly number[]): Promise<void> {
    return this.table.writeRows(start, rows);
  }

  /** Reports NaN and infinite values of the table, as `Embedding.validate`. */
  async validate(): Promise<WeightReport> {
    return this.table.validate();
  }

  /** Releases the backend's table, after the calls already running have settled; later calls throw `DisposedError`. */
  async dispose(): Promise<void> {
    return this.table.dispose();
  }
}

/** Bags `[first, first + size)` of `order` (or in order) as a batch of their own: indices, offsets, weights and targets re-based. */
function sliceBags(
  input: BagInput,
  targets: Float32Array,
  d: number,
  first: number,
  size: number,
  order: Int32Array | null,
): { input: BagInput; targets: Float32Array } {
  const { starts, ends } = input.bags;
  let total = 0;
  for (let k = 0; k < size; k++) {
    const b = order ? order[first + k]! : first + k;
    total += ends[b]! - starts[b]!;
  }
  const ids = new Int32Array(total);
  const weights = input.weights ? new Float64Array(total) : null;
  const s = new Int32Array(size);
  const e = new Int32Array(size);
  const ys = new Float32Array(size * d);
  let at = 0;
  for (let k = 0; k < size; k++) {
    const b = order ? order[first + k]! : first + k;
    s[k] = at;
    ids.set(input.indices.data.subarray(starts[b]!, ends[b]!), at);
    if (weights) weights.set(input.weights!.subarray(starts[b]!, ends[b]!), at);
    at += ends[b]! - starts[b]!;
    e[k] = at;
    ys.set(targets.subarray(b * d, (b + 1) * d), k * d);
  }
  return { input: { indices: { data: ids, shape: [total] }, bags: { starts: s, ends: e }, weights }, targets: ys };
}
