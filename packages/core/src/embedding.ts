import { type EmbeddingConfig, type ResolvedEmbeddingConfig, resolveConfig } from './config/embedding-config.js';
import { fromKerasConfig, type KerasEmbeddingLayerConfig, toKerasConfig } from './config/keras-config.js';
import { applyConstraint } from './constraints/project.js';
import { DisposedError } from './errors/disposed-error.js';
import { InvalidConfigError } from './errors/invalid-config-error.js';
import { ShapeMismatchError } from './errors/shape-mismatch-error.js';
import { UnsupportedFeatureError } from './errors/unsupported-feature-error.js';
import { initializeEmbeddings } from './initializers/initialize.js';
import { describeValue } from './serialization/keras-object.js';
import type { BackendCapabilitiesV1, EmbeddingBackendV1, EmbeddingTableV1 } from './spec/v1/embedding-backend-v1.js';
import { toIndexTensor } from './tensor/indices.js';
import { computeMask } from './tensor/mask.js';
import { computeOutputShape, type SymbolicShape } from './tensor/shape.js';
import type { EmbeddingOutput, IndexInput, IndexTensor, MaskTensor } from './tensor/types.js';
import { toWeightArray, type WeightInput } from './tensor/weights.js';
import { sparseGradient } from './training/sparse-gradient.js';

/** Options of {@link Embedding.create} and {@link Embedding.fromConfig}. */
export interface EmbeddingCreateOptions {
  /** The backend that holds the table, e.g. `createJsBackend()`. */
  backend: EmbeddingBackendV1;
  /** Initial weights (as `setWeights` takes them) instead of the initializer. */
  weights?: readonly WeightInput[];
}

/** Options of {@link Embedding.applyGradients}. */
export interface ApplyGradientsOptions {
  /** Step size of the SGD update. Default 0.01, Keras's SGD default. */
  learningRate?: number;
}

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

  private constructor(config: ResolvedEmbeddingConfig, backend: EmbeddingBackendV1, table: EmbeddingTableV1) {
    this.config = config;
    this.backend = backend;
    this.table = table;
  }

  /** Validates `config`, creates the initial weights (initializer or `options.weights`) and the backend table. */
  static async create(config: EmbeddingConfig, options: EmbeddingCreateOptions): Promise<Embedding> {
    const backend = checkBackend(options?.backend);
    const resolved = resolveConfig(config);
    const { inputDim, outputDim } = resolved;
    const bytes = inputDim * outputDim * 4;
    const max = backend.supports.maxTableBytes;
    if (max !== undefined && bytes > max) {
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
   * Keras's `predict`. Rejects with `InvalidIndexError` for a negative, non-integer or
   * out-of-range index and `ShapeMismatchError` for a shape `input_length` does not allow.
   */
  async predict(indices: IndexInput): Promise<EmbeddingOutput> {
    const table = this.live();
    return table.doLookup(this.indices(indices));
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

  /** Keras 2's `get_config()`: snake_case keys, initializer as `{ class_name, config }`. */
  getConfig(): KerasEmbeddingLayerConfig {
    return toKerasConfig(this.config);
  }

  /**
   * One SGD step from an upstream gradient: `outputGradient` is dLoss/dOutput for a lookup of
   * `indices` (shape `[...indices.shape, outputDim]`). The sparse table gradient (distinct
   * rows, duplicates summed) is applied as `w[row] -= learningRate * g[row]`, touching only
   * those rows; then `embeddings_constraint`, if any, is projected onto the whole matrix as
   * Keras does after each update. Regularizer gradients and stateful optimizers are not part
   * of this step. Rejects with `UnsupportedFeatureError` when the backend lacks `training`,
   * and does nothing when the layer is not trainable.
   */
  async applyGradients(indices: IndexInput, outputGradient: Float32Array, options: ApplyGradientsOptions = {}): Promise<void> {
    const table = this.live();
    if (!this.supports.training || !table.doScatterAdd) throw new UnsupportedFeatureError('training', this.backend.name);
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
    const learningRate = options.learningRate ?? 0.01;
    if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate < 0) {
      throw new InvalidConfigError(`learningRate must be a finite number >= 0, received ${describeValue(learningRate)}.`);
    }
    if (!this.config.trainable) return;
    const { rows, values } = sparseGradient(checked, outputGradient, outputDim);
    for (let i = 0; i < values.length; i++) values[i] = -learningRate * values[i]!;
    table.doScatterAdd(rows, values);
    if (this.config.embeddingsConstraint) {
      const w = table.doGetWeights().slice();
      applyConstraint(this.config.embeddingsConstraint, w, this.config.inputDim, outputDim);
      table.doSetWeights(w);
    }
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
