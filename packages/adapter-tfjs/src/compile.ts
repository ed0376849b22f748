import { InvalidConfigError } from '@embedding-layer/core';
import type * as tfjs from '@tensorflow/tfjs';

/**
 * Keras loss names and the TF.js names they map to. TF.js's `model.compile` knows
 * `'meanSquaredError'` but not Keras's `'mse'`.
 */
export const KERAS_LOSS_NAMES: Readonly<Record<string, string>> = {
  mse: 'meanSquaredError',
  mean_squared_error: 'meanSquaredError',
  mae: 'meanAbsoluteError',
  mean_absolute_error: 'meanAbsoluteError',
  mape: 'meanAbsolutePercentageError',
  mean_absolute_percentage_error: 'meanAbsolutePercentageError',
  msle: 'meanSquaredLogarithmicError',
  mean_squared_logarithmic_error: 'meanSquaredLogarithmicError',
  squared_hinge: 'squaredHinge',
  hinge: 'hinge',
  categorical_hinge: 'categoricalHinge',
  logcosh: 'logcosh',
  log_cosh: 'logcosh',
  categorical_crossentropy: 'categoricalCrossentropy',
  sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
  binary_crossentropy: 'binaryCrossentropy',
  kld: 'kullbackLeiblerDivergence',
  kl_divergence: 'kullbackLeiblerDivergence',
  kullback_leibler_divergence: 'kullbackLeiblerDivergence',
  poisson: 'poisson',
  cosine_proximity: 'cosineProximity',
};

const TFJS_LOSSES = new Set(Object.values(KERAS_LOSS_NAMES));

/** Keras loss name to TF.js loss name (`'mse'` to `'meanSquaredError'`); TF.js names pass through. */
export function toTfjsLoss(loss: string): string {
  if (TFJS_LOSSES.has(loss)) return loss;
  const mapped = KERAS_LOSS_NAMES[loss];
  if (!mapped) {
    throw new InvalidConfigError(
      `Unknown loss ${JSON.stringify(loss)}. Keras names: ${Object.keys(KERAS_LOSS_NAMES).join(', ')}; TF.js names: ${[...TFJS_LOSSES].join(', ')}.`,
    );
  }
  return mapped;
}

/**
 * Keras's `model.compile(optimizer, loss, metrics)` for a TF.js model, taking Keras's names:
 * `compileKeras(model, 'rmsprop', 'mse')` calls
 * `model.compile({ optimizer: 'rmsprop', loss: 'meanSquaredError' })`. Optimizer names
 * (`'sgd'`, `'rmsprop'`, `'adam'`, `'adagrad'`, ...) and metric names (`'mse'`, `'accuracy'`)
 * are the same in both and pass through; TF.js optimizer objects and loss functions are accepted too.
 */
export function compileKeras(
  model: tfjs.LayersModel,
  optimizer: string | tfjs.Optimizer,
  loss: string | ((yTrue: tfjs.Tensor, yPred: tfjs.Tensor) => tfjs.Tensor),
  metrics?: string[],
): void {
  model.compile({
    optimizer,
    loss: typeof loss === 'string' ? toTfjsLoss(loss) : loss,
    ...(metrics !== undefined ? { metrics } : {}),
  });
}
