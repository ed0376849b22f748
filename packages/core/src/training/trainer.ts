import type { ResolvedEmbeddingConfig } from '../config/embedding-config.js';
import { addColumnSquares, applyConstraintRows, columnScales, constraintPerColumn } from '../constraints/project.js';
import type { LoraWeights } from '../lora.js';
import { freshSeed, Xoshiro128 } from '../random/prng.js';
import { addPenaltySums, addRegularizerGradient, penaltyFromSums, regularizerPenalty } from '../regularizers/penalty.js';
import type { KerasObject } from '../serialization/keras-object.js';
import type { OptimizerSupportV2 } from '../spec/v2/embedding-backend-v2.js';
import { chunkRowsFor } from '../tensor/limits.js';
import type { EmbeddingOutput, IndexTensor } from '../tensor/types.js';
import { embeddingDropoutScales } from './dropout.js';
import { type LossIdentifier, lossAndGradient, resolveLoss } from './losses.js';
import type { Optimizer } from './optimizers/optimizer.js';
import { appliedOptimizer, createOptimizer, type OptimizerIdentifier, resolveOptimizer } from './optimizers/registry.js';
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

/** What the trainer needs from a table: a lookup, row ranges and the row update, all possibly asynchronous. */
export interface TrainingTable {
  lookup(indices: IndexTensor): Promise<EmbeddingOutput>;
  readRows(start: number, count: number): Promise<Float32Array>;
  writeRows(start: number, rows: Float32Array): Promise<void>;
  scatterAdd(rows: Int32Array, deltas: Float32Array): Promise<void>;
  /** The optimizers the backend applies itself (`supports.optimizers`); absent or empty: core applies every optimizer. */
  optimizers?: readonly OptimizerSupportV2[];
  /** The backend's `doApplyOptimizer`, present when it declares `optimizers`. */
  applyOptimizer?(rows: Int32Array, gradients: Float64Array, optimizer: KerasObject, iteration: number): Promise<void>;
  /** Keras 3's LoRA matrices when enabled: they train and the table stays frozen (`lookup` already adds their delta). */
  lora?: LoraWeights | null;
  /** The table takes no updates (a quantized layer: Keras's quantized `embeddings` variable is not trainable). */
  frozen?: boolean;
}

/**
 * The training step shared by every backend that declares `supports.training`: losses,
 * regularizers, dropout and optimizer math run here, in core; the backend only gathers rows
 * (`doLookup`), reads and writes row ranges and adds deltas to rows (`doScatterAdd`), unless it
 * applies the compiled optimizer itself (`supports.optimizers`, `doApplyOptimizer`: it then
 * gets the sparse gradient of each step, and keeps the optimizer's state). With no
 * embeddings regularizer, no constraint and a sparse optimizer, a step touches only the
 * looked-up rows: O(rows touched x output_dim). Whole-table passes (a regularizer, a
 * constraint, a dense optimizer) go through the table 16 MiB of rows at a time.
 */
export class Trainer {
  readonly optimizerSpec: KerasObject;
  readonly loss: KerasObject;
  private optimizer: Optimizer | null = null;
  /** The optimizer state of the LoRA matrices, bound to the LoraWeights it was made for. */
  private loraState: { lora: LoraWeights; a: Optimizer; b: Optimizer } | null = null;
  private step = 0;
  private readonly dense: boolean;
  /**
   * Whether steps update the table: the layer's `trainable` when compiled, changed by
   * `layer.trainable = false` without recompiling (a frozen layer's steps compute the loss and
   * leave the table as it is, as Keras's `fit` of a frozen layer does).
   */
  trainable: boolean;

  constructor(
    private readonly config: ResolvedEmbeddingConfig,
    options: CompileOptions,
  ) {
    this.optimizerSpec = resolveOptimizer(options.optimizer);
    this.loss = resolveLoss(options.loss);
    this.dense = options.denseUpdates ?? false;
    this.trainable = config.trainable;
  }

  /** Iterations applied so far (Keras's `optimizer.iterations`). */
  get iterations(): number {
    return this.step;
  }

  /** Loss of one batch without updating anything (no dropout): Keras's `evaluate` / `test_on_batch`. */
  async evaluate(table: TrainingTable, indices: IndexTensor, yTrue: Float32Array): Promise<number> {
    const out = await table.lookup(indices);
    return (await this.lossOf(table, indices, yTrue, out.data, null)).value;
  }

  /** One training step on one batch; returns the loss before the update (Keras's `train_on_batch`). */
  async trainStep(table: TrainingTable, indices: IndexTensor, yTrue: Float32Array, dropoutRng: Xoshiro128 | null): Promise<number> {
    const out = await table.lookup(indices);
    const rate = this.config.embeddingsDropout;
    const scales = rate > 0 ? embeddingDropoutScales(indices, rate, dropoutRng ?? new Xoshiro128(freshSeed())) : null;
    const { value, gradient } = await this.lossOf(table, indices, yTrue, out.data, scales);
    await this.applyOutputGradient(table, indices, gradient);
    return value;
  }

  /** Calls `body` on each range of whole rows of the table, 16 MiB at a time, in order. */
  private async eachChunk(body: (start: number, count: number) => Promise<void>): Promise<void> {
    const { inputDim } = this.config;
    const chunk = chunkRowsFor(this.config.outputDim);
    for (let start = 0; start < inputDim; start += chunk) await body(start, Math.min(chunk, inputDim - start));
  }

  private async lossOf(
    table: TrainingTable,
    indices: IndexTensor,
    yTrue: Float32Array,
    output: Float32Array,
    scales: Float32Array | null,
  ): Promise<{ value: number; gradient: Float64Array }> {
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
    const regularizer = this.config.embeddingsRegularizer;
    if (regularizer) {
      const sums = { abs: 0, squares: 0 };
      if (table.lora) {
        // Keras 3 regularizes the trainable weights only: with LoRA, a and b (not the frozen table).
        addPenaltySums(table.lora.a, sums);
        addPenaltySums(table.lora.b, sums);
      } else await this.eachChunk(async (start, count) => addPenaltySums(await table.readRows(start, count), sums));
      result.value += penaltyFromSums(regularizer, sums);
    }
    if (scales) for (let i = 0; i < result.gradient.length; i++) result.gradient[i]! *= scales[Math.floor(i / d)]!;
    return result;
  }

  /**
   * Applies dLoss/dOutput of a lookup to the table: the sparse row gradient (duplicates
   * summed), plus the embeddings regularizer's gradient on every row, through the optimizer;
   * then the constraint on the whole matrix, as Keras does after each update.
   */
  async applyOutputGradient(table: TrainingTable, indices: IndexTensor, outputGradient: ArrayLike<number>): Promise<void> {
    if (!this.trainable) return;
    if (table.lora) return this.applyLora(table.lora, indices, outputGradient);
    if (table.frozen) return;
    const { inputDim, outputDim: d, embeddingsRegularizer, embeddingsConstraint, paddingIdx } = this.config;
    // A backend that declares this optimizer (supports.optimizers) applies the sparse step itself,
    // its state beside the rows; an embeddings regularizer or denseUpdates (every row every step) stays in core.
    const server =
      !this.dense &&
      !embeddingsRegularizer &&
      table.applyOptimizer &&
      appliedOptimizer({ optimizers: table.optimizers ?? [] }, this.optimizerSpec);
    this.step++;
    const step = this.step;
    // PyTorch: the padding row gets no gradient; scale_grad_by_freq divides by each row's count.
    const sparse = sparseGradient(indices, outputGradient, d, { scaleGradByFreq: this.config.scaleGradByFreq, paddingIdx });
    if (server) {
      // Once per step, rows possibly empty, so a backend that counts iterations counts this one.
      await table.applyOptimizer!(sparse.rows, sparse.values, this.optimizerSpec, step);
      if (embeddingsConstraint) await this.constrain(table, embeddingsConstraint);
      return;
    }
    this.optimizer ??= createOptimizer(this.optimizerSpec, inputDim, d);
    const optimizer = this.optimizer;
    if (optimizer.mode === 'dense' || this.dense || embeddingsRegularizer) {
      // Every row, a range at a time: the range's share of the sparse gradient, plus the regularizer's.
      const slot = new Map<number, number>();
      for (let k = 0; k < sparse.rows.length; k++) slot.set(sparse.rows[k]!, k);
      await this.eachChunk(async (start, count) => {
        const grad = new Float64Array(count * d);
        for (let r = 0; r < count; r++) {
          const k = slot.get(start + r);
          if (k !== undefined) for (let c = 0; c < d; c++) grad[r * d + c] = sparse.values[k * d + c]!;
        }
        if (embeddingsRegularizer) addRegularizerGradient(embeddingsRegularizer, await table.readRows(start, count), grad);
        const pad = paddingIdx !== null && paddingIdx >= start && paddingIdx < start + count ? paddingIdx - start : -1;
        // The padding row receives no gradient, the regularizer's included, and no optimizer moves it.
        if (pad >= 0) grad.fill(0, pad * d, (pad + 1) * d);
        const rows = new Int32Array(count);
        for (let r = 0; r < count; r++) rows[r] = start + r;
        const deltas = optimizer.deltas(rows, grad, step);
        if (pad >= 0) deltas.fill(0, pad * d, (pad + 1) * d);
        await table.scatterAdd(rows, deltas);
      });
    } else if (sparse.rows.length > 0) {
      await table.scatterAdd(sparse.rows, optimizer.deltas(sparse.rows, sparse.values, step));
    }
    if (embeddingsConstraint) await this.constrain(table, embeddingsConstraint);
  }

  /**
   * One step of Keras 3's LoRA: the table is frozen; `lora_embeddings_a` gets the sparse
   * gradient of the rows looked up (every row when the optimizer or a regularizer is dense) and
   * `lora_embeddings_b` its dense gradient, each through its own instance of the compiled
   * optimizer (its own slots), at the same iteration; the embeddings regularizer applies to
   * both, as Keras gives them `regularizer=self.embeddings_regularizer`.
   */
  private applyLora(lora: LoraWeights, indices: IndexTensor, outputGradient: ArrayLike<number>): void {
    const { inputDim, outputDim: d, embeddingsRegularizer: regularizer, paddingIdx, scaleGradByFreq } = this.config;
    const rank = lora.rank;
    this.step++;
    const step = this.step;
    const sparse = sparseGradient(indices, outputGradient, d, { scaleGradByFreq, paddingIdx });
    const g = lora.gradients(sparse.rows, sparse.values);
    if (this.loraState?.lora !== lora) {
      this.loraState = { lora, a: createOptimizer(this.optimizerSpec, inputDim, rank), b: createOptimizer(this.optimizerSpec, rank, d) };
    }
    const state = this.loraState;
    let aRows = sparse.rows;
    let aGrad = g.a;
    if (state.a.mode === 'dense' || this.dense || regularizer) {
      aRows = new Int32Array(inputDim);
      for (let r = 0; r < inputDim; r++) aRows[r] = r;
      aGrad = new Float64Array(inputDim * rank);
      for (let k = 0; k < sparse.rows.length; k++) aGrad.set(g.a.subarray(k * rank, (k + 1) * rank), sparse.rows[k]! * rank);
      if (regularizer) addRegularizerGradient(regularizer, lora.a, aGrad);
    }
    if (regularizer) addRegularizerGradient(regularizer, lora.b, g.b);
    const bRows = new Int32Array(rank);
    for (let j = 0; j < rank; j++) bRows[j] = j;
    // Both deltas from the gradients of the same forward pass, then applied (float32, as Keras's variables).
    const da = aRows.length > 0 ? state.a.deltas(aRows, aGrad, step) : new Float32Array(0);
    const db = state.b.deltas(bRows, g.b, step);
    for (let k = 0; k < aRows.length; k++) {
      const base = aRows[k]! * rank;
      for (let j = 0; j < rank; j++) lora.a[base + j] = lora.a[base + j]! + da[k * rank + j]!;
    }
    for (let i = 0; i < db.length; i++) lora.b[i] = lora.b[i]! + db[i]!;
  }

  /** Projects the constraint onto the table, a range of rows at a time (two passes for per-column norms). */
  private async constrain(table: TrainingTable, constraint: KerasObject): Promise<void> {
    const d = this.config.outputDim;
    let scales: Float64Array | null = null;
    if (constraintPerColumn(constraint)) {
      const sums = new Float64Array(d);
      await this.eachChunk(async (start, count) => addColumnSquares(await table.readRows(start, count), d, sums));
      scales = columnScales(constraint, sums);
    }
    await this.eachChunk(async (start, count) => {
      const block = await table.readRows(start, count);
      applyConstraintRows(constraint, block, d, scales);
      await table.writeRows(start, block);
    });
  }
}
