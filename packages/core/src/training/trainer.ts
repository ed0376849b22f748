import type { ResolvedEmbeddingConfig } from '../config/embedding-config.js';
import { applyConstraint } from '../constraints/project.js';
import { freshSeed, Xoshiro128 } from '../random/prng.js';
import { addRegularizerGradient, regularizerPenalty } from '../regularizers/penalty.js';
import type { KerasObject } from '../serialization/keras-object.js';
import type { EmbeddingTableV1 } from '../spec/v1/embedding-backend-v1.js';
import type { IndexTensor } from '../tensor/types.js';
import { embeddingDropoutScales } from './dropout.js';
import { type LossIdentifier, lossAndGradient, resolveLoss } from './losses.js';
import type { Optimizer } from './optimizers/optimizer.js';
import { createOptimizer, type OptimizerIdentifier, resolveOptimizer } from './optimizers/registry.js';
import { sparseGradient } from './sparse-gradient.js';

/** Options of `Embedding.compile`: Keras's `compile(optimizer, loss)`. */
export interface CompileOptions {
  /** `'sgd'`, `'rmsprop'`, `'adam'`, `'adagrad'`, or `{ className, config }` with Keras's keys. */
  optimizer: OptimizerIdentifier;
  /** `'mse'`, `'mae'`, `'cosine_similarity'` (or their Keras/TF.js long names). */
  loss: LossIdentifier;
  /**
   * Update every row every step even where the sparse update is exact (sgd without momentum,
   * rmsprop without momentum, adagrad). Only useful to check that both give the same weights.
   */
  denseUpdates?: boolean;
}

/**
 * The training step shared by every backend that declares `supports.training`: losses,
 * regularizers, dropout and optimizer math run here, in core; the backend only gathers rows
 * (`doLookup`) and adds deltas to rows (`doScatterAdd`). With no embeddings regularizer, no
 * constraint and a sparse optimizer, a step touches only the looked-up rows:
 * O(rows touched x output_dim).
 */
export class Trainer {
  readonly optimizerSpec: KerasObject;
  readonly loss: KerasObject;
  private optimizer: Optimizer | null = null;
  private step = 0;
  private allRows: Int32Array | null = null;
  private readonly dense: boolean;

  constructor(
    private readonly config: ResolvedEmbeddingConfig,
    options: CompileOptions,
  ) {
    this.optimizerSpec = resolveOptimizer(options.optimizer);
    this.loss = resolveLoss(options.loss);
    this.dense = options.denseUpdates ?? false;
  }

  /** Iterations applied so far (Keras's `optimizer.iterations`). */
  get iterations(): number {
    return this.step;
  }

  /** Loss of one batch without updating anything (no dropout): Keras's `evaluate` / `test_on_batch`. */
  async evaluate(table: EmbeddingTableV1, indices: IndexTensor, yTrue: Float32Array): Promise<number> {
    const out = await table.doLookup(indices);
    return this.lossOf(table, indices, yTrue, out.data, null).value;
  }

  /** One training step on one batch; returns the loss before the update (Keras's `train_on_batch`). */
  async trainStep(table: EmbeddingTableV1, indices: IndexTensor, yTrue: Float32Array, dropoutRng: Xoshiro128 | null): Promise<number> {
    const out = await table.doLookup(indices);
    const rate = this.config.embeddingsDropout;
    const scales = rate > 0 ? embeddingDropoutScales(indices, rate, dropoutRng ?? new Xoshiro128(freshSeed())) : null;
    const { value, gradient } = this.lossOf(table, indices, yTrue, out.data, scales);
    this.applyOutputGradient(table, indices, gradient);
    return value;
  }

  private lossOf(
    table: EmbeddingTableV1,
    indices: IndexTensor,
    yTrue: Float32Array,
    output: Float32Array,
    scales: Float32Array | null,
  ): { value: number; gradient: Float64Array } {
    const d = this.config.outputDim;
    let yPred: Float32Array = output;
    if (scales) {
      yPred = new Float32Array(output.length);
      for (let i = 0; i < output.length; i++) yPred[i] = output[i]! * scales[Math.floor(i / d)]!;
    }
    const result = lossAndGradient(this.loss, yTrue, yPred, d);
    const activity = this.config.activityRegularizer;
    if (activity) {
      // Keras: regularizer(output) / batch_size, added to the loss on every call.
      const batch = Math.max(1, indices.shape[0] ?? 1);
      result.value += regularizerPenalty(activity, yPred) / batch;
      const g = new Float64Array(yPred.length);
      addRegularizerGradient(activity, yPred, g);
      for (let i = 0; i < g.length; i++) result.gradient[i]! += g[i]! / batch;
    }
    if (this.config.embeddingsRegularizer) result.value += regularizerPenalty(this.config.embeddingsRegularizer, table.doGetWeights());
    if (scales) for (let i = 0; i < result.gradient.length; i++) result.gradient[i]! *= scales[Math.floor(i / d)]!;
    return result;
  }

  /**
   * Applies dLoss/dOutput of a lookup to the table: the sparse row gradient (duplicates
   * summed), plus the embeddings regularizer's gradient on every row, through the optimizer;
   * then the constraint on the whole matrix, as Keras does after each update.
   */
  applyOutputGradient(table: EmbeddingTableV1, indices: IndexTensor, outputGradient: ArrayLike<number>): void {
    if (!this.config.trainable) return;
    const { inputDim, outputDim, embeddingsRegularizer, embeddingsConstraint } = this.config;
    this.optimizer ??= createOptimizer(this.optimizerSpec, inputDim, outputDim);
    const optimizer = this.optimizer;
    this.step++;
    const sparse = sparseGradient(indices, outputGradient, outputDim);
    if (optimizer.mode === 'dense' || this.dense || embeddingsRegularizer) {
      const full = new Float64Array(inputDim * outputDim);
      for (let k = 0; k < sparse.rows.length; k++) {
        const base = sparse.rows[k]! * outputDim;
        for (let c = 0; c < outputDim; c++) full[base + c] = sparse.values[k * outputDim + c]!;
      }
      if (embeddingsRegularizer) addRegularizerGradient(embeddingsRegularizer, table.doGetWeights(), full);
      if (!this.allRows) {
        this.allRows = new Int32Array(inputDim);
        for (let r = 0; r < inputDim; r++) this.allRows[r] = r;
      }
      table.doScatterAdd!(this.allRows, optimizer.deltas(this.allRows, full, this.step));
    } else if (sparse.rows.length > 0) {
      table.doScatterAdd!(sparse.rows, optimizer.deltas(sparse.rows, sparse.values, this.step));
    }
    if (embeddingsConstraint) {
      const w = table.doGetWeights().slice();
      applyConstraint(embeddingsConstraint, w, inputDim, outputDim);
      table.doSetWeights(w);
    }
  }
}
