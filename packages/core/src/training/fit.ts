import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { Xoshiro128 } from '../random/prng.js';
import type { IndexTensor } from '../tensor/types.js';

/** Per-batch and per-epoch hooks of `Embedding.fit`, as Keras callbacks. */
export interface FitCallbacks {
  /** After each optimizer step, with that batch's loss (Keras's `on_train_batch_end`). */
  onBatchEnd?: (batch: number, logs: { loss: number }) => void | Promise<void>;
  /** After each epoch, with its mean loss (Keras's `on_epoch_end`). */
  onEpochEnd?: (epoch: number, logs: { loss: number }) => void | Promise<void>;
}

/** Options of `Embedding.fit`, with Keras's defaults. */
export interface FitOptions {
  /** Passes over the data. Default 1. */
  epochs?: number;
  /** Samples (entries of the first dimension) per step. Default 32. */
  batchSize?: number;
  /** Shuffle the samples before each epoch. Default true. */
  shuffle?: boolean;
  /** Seed of the shuffling and of embedding dropout. Default: the layer's own generator. */
  seed?: number;
  /** Keras-style callbacks. */
  callbacks?: FitCallbacks;
}

/** What `Embedding.fit` returns: Keras's `History` (`history.history.loss[epoch]`). */
export interface History {
  /** The epochs run, 0-based. */
  epoch: number[];
  /** The mean loss of each epoch. */
  history: { loss: number[] };
}

/** One batch of samples. */
export interface Batch {
  indices: IndexTensor;
  targets: Float32Array;
  /** Samples in the batch. */
  size: number;
}

/** A Fisher-Yates permutation of 0..n-1 from a seeded generator. */
export function permutation(n: number, rng: Xoshiro128): Int32Array {
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

/** Splits indices and targets along the first dimension into batches, in `order` when given (lazily, one batch at a time). */
export function* batches(
  indices: IndexTensor,
  targets: Float32Array,
  outputDim: number,
  batchSize: number,
  order: Int32Array | null,
): Generator<Batch> {
  const samples = indices.shape[0] ?? 0;
  const per = samples === 0 ? 0 : indices.data.length / samples;
  for (let start = 0; start < samples; start += batchSize) {
    const size = Math.min(batchSize, samples - start);
    const ids = new Int32Array(size * per);
    const ys = new Float32Array(size * per * outputDim);
    for (let k = 0; k < size; k++) {
      const s = order ? order[start + k]! : start + k;
      ids.set(indices.data.subarray(s * per, (s + 1) * per), k * per);
      ys.set(targets.subarray(s * per * outputDim, (s + 1) * per * outputDim), k * per * outputDim);
    }
    yield { indices: { data: ids, shape: [size, ...indices.shape.slice(1)] }, targets: ys, size };
  }
}

/** Checks `fit`'s epochs and batch size (positive integers). */
export function fitSettings(options: FitOptions): { epochs: number; batchSize: number } {
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  for (const [name, value] of [
    ['epochs', epochs],
    ['batchSize', batchSize],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidConfigError(`fit: ${name} must be a positive integer, received ${describeValue(value)}.`);
  }
  return { epochs, batchSize };
}

/**
 * Keras's fit loop: epochs of (shuffled) batches, one `step` per batch, the callbacks, and the
 * history. `step` is where the layer checks it is still alive, so `dispose()` (from a
 * callback, or from elsewhere while a step runs) stops the loop at the next batch.
 */
export async function fitLoop(
  indices: IndexTensor,
  targets: Float32Array,
  outputDim: number,
  options: FitOptions,
  rng: Xoshiro128,
  step: (batch: Batch) => Promise<number>,
): Promise<History> {
  const { epochs, batchSize } = fitSettings(options);
  const history: History = { epoch: [], history: { loss: [] } };
  const samples = indices.shape[0] ?? 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = options.shuffle === false ? null : permutation(samples, rng);
    let total = 0;
    let b = 0;
    for (const batch of batches(indices, targets, outputDim, batchSize, order)) {
      const loss = await step(batch);
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
