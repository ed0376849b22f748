import { type EmbeddingConfig, type ResolvedEmbeddingConfig, resolveConfig } from './config/embedding-config.js';
import { fromKerasConfig, type KerasEmbeddingLayerConfig, toKerasConfig } from './config/keras-config.js';
import { DisposedError } from './errors/disposed-error.js';
import { InvalidConfigError } from './errors/invalid-config-error.js';
import { ShapeMismatchError } from './errors/shape-mismatch-error.js';
import { UnsupportedFeatureError } from './errors/unsupported-feature-error.js';
import { initializeEmbeddings } from './initializers/initialize.js';
import { freshSeed, Xoshiro128 } from './random/prng.js';
import { describeValue } from './serialization/keras-object.js';
import type { BackendCapabilitiesV1, EmbeddingBackendV1, EmbeddingTableV1 } from './spec/v1/embedding-backend-v1.js';
import { toIndexTensor } from './tensor/indices.js';
import { computeMask } from './tensor/mask.js';
import { computeOutputShape, type SymbolicShape } from './tensor/shape.js';
import type { EmbeddingOutput, IndexInput, IndexTensor, MaskTensor } from './tensor/types.js';
import { validateWeights, type WeightReport } from './tensor/validate.js';
import { toWeightArray, type WeightInput } from './tensor/weights.js';
import type { LossIdentifier } from './training/losses.js';
import type { OptimizerIdentifier } from './training/optimizers/registry.js';
import { type TargetInput, toTargetArray } from './training/targets.js';
import { type CompileOptions, Trainer } from './training/trainer.js';

/** Options of {@link Embedding.create} and {@link Embedding.fromConfig}. */
export interface EmbeddingCreateOptions {
  /** The backend that holds the table, e.g. `createJsBackend()`. */
  backend: EmbeddingBackendV1;
  /** Initial weights (as `setWeights` takes them) instead of the initializer. */
  weights?: readonly WeightInput[];
}

/** Options of {@link Embedding.predict}. */
export interface PredictOptions {
  /** A Float32Array of indices.length * outputDim values to write the output into. */
  out?: Float32Array;
}

/** Options of {@link Embedding.applyGradients}. */
export interface ApplyGradientsOptions {
  /** For a layer that is not compiled: the step size of plain SGD. Default 0.01, Keras's SGD default. */
  learningRate?: number;
}

/** Per-batch and per-epoch hooks of {@link Embedding.fit}, as Keras callbacks. */
export interface FitCallbacks {
  /** After each optimizer step, with that batch's loss (Keras's `on_train_batch_end`). */
  onBatchEnd?: (batch: number, logs: { loss: number }) => void | Promise<void>;
  /** After each epoch, with its mean loss (Keras's `on_epoch_end`). */
  onEpochEnd?: (epoch: number, logs: { loss: number }) => void | Promise<void>;
}

/** Options of {@link Embedding.fit}, with Keras's defaults. */
export interface FitOptions {
  /** Passes over the data. Default 1. */
  epochs?: number;
  /** Samples (entries of the first dimension) per step. Default 32. */
  batchSize?: number;
  /** Shuffle the samples before each epoch. Default true. */
  shuffle?: boolean;
  /** Seed of the shuffling and of embedding dropout. Default: the layer's own generator. */
  seed?: number;
  callbacks?: FitCallbacks;
}

/** What {@link Embedding.fit} returns: Keras's `History` (`history.history.loss[epoch]`). */
export interface History {
  epoch: number[];
  history: { loss: number[] };
}

/** A Fisher-Yates permutation of 0..n-1 from a seeded generator. */
function permutation(n: number, rng: Xoshiro128): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat64() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Splits indices and targets along the first dimension into batches, in `order` when given. */
function splitBatches(
  indices: IndexTensor,
  targets: Float32Array,
  outputDim: number,
  batchSize: number,
  order: Int32Array | null,
): { indices: IndexTensor; targets: Float32Array; size: number }[] {
  const samples = indices.shape[0] ?? 0;
  const per = samples === 0 ? 0 : indices.data.length / samples;
  const out: { indices: IndexTensor; targets: Float32Array; size: number }[] = [];
  for (let start = 0; start < samples; start += batchSize) {
    const size = Math.min(batchSize, samples - start);
    const ids = new Int32Array(size * per);
    const ys = new Float32Array(size * per * outputDim);
    for (let k = 0; k < size; k++) {
      const s = order ? order[start + k]! : start + k;
      ids.set(indices.data.subarray(s * per, (s + 1) * per), k * per);
      ys.set(targets.subarray(s * per * outputDim, (s + 1) * per * outputDim), k * per * outputDim);
    }
    out.push({ indices: { data: ids, shape: [size, ...indices.shape.slice(1)] }, targets: ys, size });
  }
  return out;
}

/** The longest Float32Array V8 allocates (Node 20): core's initial table is one array. */
const MAX_TABLE_ELEMENTS = 2 ** 32 - 1;

function checkBackend(backend: unknown): EmbeddingBackendV1 {
  const b = backend as Partial<EmbeddingBackendV1> | undefined;
  if (typeof b !== 'object' || b === null || typeof b.doCreateTable !== 'function') {
    throw new InvalidConfigError(
      `options.backend must be an embedding backend (e.g. createJsBackend()), received ${describeValue(backend)}.`,
    );
  }
  if (b.specificationVersion !== 'v1') {
    throw new InvalidConfigError(
      `Backend "${String(b.name)}" implements specification ${describeValue(b.specificationVersion)}; this core supports: "v1".`,
    );
  }
  return b as EmbeddingBackendV1;
}

/**
 * The Keras `Embedding` layer: turns integer indices into dense vectors.
 *
 * Keras: `Embedding(1000, 64, input_length=10)`; here:
 * `await Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10 }, { backend })`.
 * Every argument, index and weight is validated here, once, before the backend is called, so
 * every backend gives the same error for the same bad input.
 */
export class Embedding {
  /** The validated config, with Keras's defaults filled in. */
  readonly config: ResolvedEmbeddingConfig;
  /** The backend that holds the table. */
  readonly backend: EmbeddingBackendV1;
  private table: EmbeddingTableV1 | null;
  private trainer: Trainer | null = null;
  /** Generator of embedding dropout outside `fit({ seed })`: seeded from the layer seed when there is one. */
  private readonly dropoutRng: Xoshiro128;

  private constructor(config: ResolvedEmbeddingConfig, backend: EmbeddingBackendV1, table: EmbeddingTableV1) {
    this.config = config;
    this.backend = backend;
    this.table = table;
    this.dropoutRng = new Xoshiro128(config.seed ?? freshSeed());
  }

  /** Validates `config`, creates the initial weights (initializer or `options.weights`) and the backend table. */
  static async create(config: EmbeddingConfig, options: EmbeddingCreateOptions): Promise<Embedding> {
    const backend = checkBackend(options?.backend);
    const resolved = resolveConfig(config);
    const { inputDim, outputDim } = resolved;
    const bytes = inputDim * outputDim * 4;
    // Core creates the initial table as one Float32Array: at most 2^32 - 1 elements in V8.
    const max = Math.min(backend.supports.maxTableBytes ?? Number.POSITIVE_INFINITY, MAX_TABLE_ELEMENTS * 4);
    if (bytes > max) {
      throw new UnsupportedFeatureError(
        'tables of this size',
        backend.name,
        `input_dim * output_dim * 4 = ${bytes} bytes, its maxTableBytes is ${max}`,
      );
    }
    const weights =
      options.weights !== undefined
        ? toWeightArray(options.weights, inputDim, outputDim)
        : initializeEmbeddings(resolved.embeddingsInitializer, inputDim, outputDim, resolved.seed);
    const table = await backend.doCreateTable(resolved, weights);
    return new Embedding(resolved, backend, table);
  }

  /**
   * Creates a layer from a Keras 2, Keras 3 or TF.js layer config (snake_case, bare or wrapped
   * in `{ class_name: 'Embedding', config }`): Keras's `Embedding.from_config`.
   */
  static async fromConfig(config: unknown, options: EmbeddingCreateOptions): Promise<Embedding> {
    return Embedding.create(fromKerasConfig(config), options);
  }

  /** The backend's capability manifest. */
  get supports(): BackendCapabilitiesV1 {
    return this.backend.supports;
  }

  private live(): EmbeddingTableV1 {
    if (this.table === null) throw new DisposedError(`Embedding "${this.config.name}" was disposed; create a new layer.`);
    return this.table;
  }

  /** Validates indices (and their shape against `input_length`) into int32. */
  private indices(input: IndexInput): IndexTensor {
    const indices = toIndexTensor(input, this.config.inputDim);
    computeOutputShape(indices.shape, this.config.outputDim, this.config.inputLength);
    return indices;
  }

  /**
   * Looks up `indices` (any rank >= 1): the result has shape `[...indices.shape, outputDim]`,
   * Keras's `predict`. With `{ out }` the rows are written into the caller's Float32Array
   * (of exactly that many values), which is returned as the output's data: large lookups need
   * not allocate. Rejects with `InvalidIndexError` for a negative, non-integer or
   * out-of-range index and `ShapeMismatchError` for a shape `input_length` does not allow.
   */
  async predict(indices: IndexInput, options: PredictOptions = {}): Promise<EmbeddingOutput> {
    const table = this.live();
    const checked = this.indices(indices);
    const { out } = options;
    if (out === undefined) return table.doLookup(checked);
    const size = checked.data.length * this.config.outputDim;
    if (!(out instanceof Float32Array) || out.length !== size) {
      throw new ShapeMismatchError(
        `options.out must be a Float32Array of ${size} values (shape [${[...checked.shape, this.config.outputDim].join(', ')}]), received ${
          out instanceof Float32Array ? `${out.length} values` : describeValue(out)
        }.`,
      );
    }
    if (this.supports.lookupInto) return table.doLookup(checked, out);
    const result = await table.doLookup(checked);
    out.set(result.data);
    return { data: out, shape: result.shape };
  }

  /** Keras's `compute_mask`: null unless `maskZero`; else 1 where index != 0, 0 where index == 0. */
  computeMask(indices: IndexInput): MaskTensor | null {
    const table = this.live();
    if (!this.config.maskZero) return null;
    const checked = this.indices(indices);
    return table.doComputeMask ? table.doComputeMask(checked) : computeMask(checked, true);
  }

  /** Keras's `compute_output_shape`: `[...inputShape, outputDim]`, with `input_length` checks. */
  computeOutputShape(inputShape: SymbolicShape): (number | null)[] {
    return computeOutputShape(inputShape, this.config.outputDim, this.config.inputLength);
  }

  /** Keras's `get_weights()`: a list of one row-major Float32Array of inputDim * outputDim (a copy). */
  getWeights(): Float32Array[] {
    return [this.live().doGetWeights().slice()];
  }

  /**
   * Keras's `set_weights([w])`: exactly one (inputDim, outputDim) matrix, flat or as rows.
   * A wrong count, length or type throws `InvalidWeightsError` and changes nothing.
   */
  setWeights(weights: readonly WeightInput[]): void {
    const table = this.live();
    table.doSetWeights(toWeightArray(weights, this.config.inputDim, this.config.outputDim));
  }

  /** Reports NaN and infinite weights (which `setWeights` accepts, as Keras does). */
  validate(): WeightReport {
    return validateWeights(this.live().doGetWeights(), this.config.outputDim);
  }

  /** Keras 2's `get_config()`: snake_case keys, initializer as `{ class_name, config }`. */
  getConfig(): KerasEmbeddingLayerConfig {
    return toKerasConfig(this.config);
  }

  private requireTraining(table: EmbeddingTableV1): void {
    if (!this.supports.training || !table.doScatterAdd) throw new UnsupportedFeatureError('training', this.backend.name);
  }

  /**
   * Keras's `compile(optimizer, loss)`: `layer.compile('rmsprop', 'mse')` or
   * `layer.compile({ optimizer, loss })`. Optimizers: sgd, rmsprop, adam, adagrad, by name or
   * `{ className, config }` with Keras's keys and defaults; losses: mse, mae,
   * cosine_similarity. Resets the optimizer state.
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
    const table = this.live();
    const trainer = this.compiled();
    this.requireTraining(table);
    const indices = this.indices(x);
    return trainer.trainStep(table, indices, this.batchTargets(indices, y), this.dropoutRng);
  }

  /**
   * Keras's `evaluate(x, y)`: the mean loss over batches (weighted by batch size), including
   * regularization losses, without updating anything and without dropout.
   */
  async evaluate(x: IndexInput, y: TargetInput, options: { batchSize?: number } = {}): Promise<number> {
    const table = this.live();
    const trainer = this.compiled();
    const indices = this.indices(x);
    const targets = this.batchTargets(indices, y);
    let total = 0;
    const batches = splitBatches(indices, targets, this.config.outputDim, options.batchSize ?? 32, null);
    for (const b of batches) total += (await trainer.evaluate(table, b.indices, b.targets)) * b.size;
    return batches.length === 0 ? 0 : total / (indices.shape[0] ?? 1);
  }

  /**
   * Keras's `fit(x, y, epochs, batch_size, shuffle)`: trains in place and returns the history
   * of the mean loss per epoch. `seed` fixes the shuffling and the embedding dropout.
   */
  async fit(x: IndexInput, y: TargetInput, options: FitOptions = {}): Promise<History> {
    const table = this.live();
    const trainer = this.compiled();
    this.requireTraining(table);
    const indices = this.indices(x);
    const targets = this.batchTargets(indices, y);
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    for (const [name, value] of [
      ['epochs', epochs],
      ['batchSize', batchSize],
    ] as const) {
      if (!Number.isInteger(value) || value < 1)
        throw new InvalidConfigError(`fit: ${name} must be a positive integer, received ${describeValue(value)}.`);
    }
    const rng = options.seed !== undefined ? new Xoshiro128(options.seed) : this.dropoutRng;
    const history: History = { epoch: [], history: { loss: [] } };
    const samples = indices.shape[0] ?? 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = options.shuffle === false ? null : permutation(samples, rng);
      let total = 0;
      let b = 0;
      for (const batch of splitBatches(indices, targets, this.config.outputDim, batchSize, order)) {
        const loss = await trainer.trainStep(table, batch.indices, batch.targets, rng);
        total += loss * batch.size;
        await options.callbacks?.onBatchEnd?.(b++, { loss });
      }
      const loss = samples === 0 ? 0 : total / samples;
      history.epoch.push(epoch);
      history.history.loss.push(loss);
      await options.callbacks?.onEpochEnd?.(epoch, { loss });
    }
    return history;
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
    const table = this.live();
    this.requireTraining(table);
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
    trainer.applyOutputGradient(table, checked, outputGradient);
  }

  /**
   * Serializes the layer in a format its backend exports (`supports.export`, e.g. `'onnx'`).
   * Rejects with `UnsupportedFeatureError` for a format the backend does not list.
   */
  async export(format: string): Promise<Uint8Array> {
    const table = this.live();
    if (!this.supports.export?.includes(format) || !table.doExport) {
      throw new UnsupportedFeatureError(
        `export to ${JSON.stringify(format)}`,
        this.backend.name,
        `it exports: ${(this.supports.export ?? []).join(', ') || 'nothing'}`,
      );
    }
    return table.doExport(format);
  }

  /** Releases the backend's resources. Later calls throw `DisposedError`; a second dispose is a no-op. */
  async dispose(): Promise<void> {
    const table = this.table;
    this.table = null;
    if (table) await table.doDispose();
  }
}
