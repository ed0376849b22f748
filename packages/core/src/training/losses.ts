import {
  buildRegistry,
  type KerasClassSpec,
  type KerasIdentifier,
  type KerasObject,
  resolveKerasObject,
} from '../serialization/keras-object.js';

/**
 * Losses by Keras name. Each is computed as Keras does for an output of shape
 * `[..., outputDim]`: a per-position value over the last axis, then the mean over all
 * positions (Keras's `sum_over_batch_size` reduction).
 */
export const LOSSES: readonly KerasClassSpec[] = [
  { className: 'MeanSquaredError', aliases: ['mse', 'mean_squared_error', 'meanSquaredError', 'MSE'], defaults: {}, rules: {} },
  { className: 'MeanAbsoluteError', aliases: ['mae', 'mean_absolute_error', 'meanAbsoluteError', 'MAE'], defaults: {}, rules: {} },
  {
    className: 'CosineSimilarity',
    aliases: ['cosine_similarity', 'cosine', 'cosineProximity', 'cosine_proximity'],
    defaults: {},
    rules: {},
  },
];

const LOSS_REGISTRY = buildRegistry(LOSSES);

/** A loss identifier: a Keras or TF.js name (`'mse'`, `'meanSquaredError'`...) or `{ className }`. */
export type LossIdentifier = KerasIdentifier;

/** Resolves a loss name. Unknown names list the known ones. */
export function resolveLoss(identifier: LossIdentifier): KerasObject {
  return resolveKerasObject('loss', 'loss', LOSS_REGISTRY, identifier);
}

/** Keras's `l2_normalize` floor on the squared norm. */
const NORM_EPSILON = 1e-12;

/**
 * The loss of `yPred` against `yTrue` (both `positions x outputDim`, row-major) and its
 * gradient with respect to `yPred`, in float64. Keras formulas:
 * mse `mean((p - t)^2)`, mae `mean(|p - t|)`, cosine_similarity
 * `-sum(l2_normalize(t) * l2_normalize(p))` per position, then the mean over positions.
 */
export function lossAndGradient(
  loss: KerasObject,
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  outputDim: number,
): { value: number; gradient: Float64Array } {
  const n = yPred.length;
  const positions = outputDim === 0 ? 0 : n / outputDim;
  const gradient = new Float64Array(n);
  if (positions === 0) return { value: 0, gradient };
  let total = 0;
  switch (loss.className) {
    case 'MeanSquaredError':
      for (let i = 0; i < n; i++) {
        const d = yPred[i]! - yTrue[i]!;
        total += d * d;
        gradient[i] = (2 * d) / n;
      }
      return { value: total / n, gradient };
    case 'MeanAbsoluteError':
      for (let i = 0; i < n; i++) {
        const d = yPred[i]! - yTrue[i]!;
        total += Math.abs(d);
        gradient[i] = Math.sign(d) / n;
      }
      return { value: total / n, gradient };
    default: {
      for (let p = 0; p < positions; p++) {
        const base = p * outputDim;
        let tt = 0;
        let pp = 0;
        let tp = 0;
        for (let c = 0; c < outputDim; c++) {
          const t = yTrue[base + c]!;
          const q = yPred[base + c]!;
          tt += t * t;
          pp += q * q;
          tp += t * q;
        }
        const nt = Math.sqrt(Math.max(tt, NORM_EPSILON));
        const np = Math.sqrt(Math.max(pp, NORM_EPSILON));
        const cos = tp / (nt * np);
        total -= cos;
        // d(-cos)/dq = -(t / (nt np) - cos * q / np^2), or -t / (nt np) when the norm is floored.
        const floored = pp < NORM_EPSILON;
        for (let c = 0; c < outputDim; c++) {
          const t = yTrue[base + c]!;
          const q = yPred[base + c]!;
          const g = -(t / (nt * np)) + (floored ? 0 : (cos * q) / (np * np));
          gradient[base + c] = g / positions;
        }
      }
      return { value: total / positions, gradient };
    }
  }
}
