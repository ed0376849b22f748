import type { KerasObject } from '../../serialization/keras-object.js';
import type { Optimizer, UpdateMode } from './optimizer.js';

/**
 * SGD, Keras 3 formula (`keras/src/optimizers/sgd.py`): without momentum `w -= lr * g`; with it
 * `m = momentum * m - lr * g`, then `w += m`, or for Nesterov `w += momentum * m - lr * g`.
 * Defaults: learning_rate 0.01, momentum 0, nesterov false. Keras 2 and TF.js's `'sgd'` agree;
 * TF.js's momentum optimizer keeps `accum = momentum * accum + g` and steps `lr * accum`, the
 * same sequence for a constant rate.
 *
 * Without momentum an idle row does not move: sparse and exact. With momentum an idle row
 * keeps moving every step (Keras applies it densely), so the update is dense.
 */
export class Sgd implements Optimizer {
  readonly mode: UpdateMode;
  private readonly lr: number;
  private readonly mu: number;
  private readonly nesterov: boolean;
  private readonly velocity: Float32Array | null;
  private readonly d: number;

  constructor(
    readonly spec: KerasObject,
    rows: number,
    cols: number,
  ) {
    const c = spec.config as { learning_rate: number; momentum: number; nesterov: boolean };
    this.lr = c.learning_rate;
    this.mu = c.momentum;
    this.nesterov = c.nesterov;
    this.velocity = this.mu > 0 ? new Float32Array(rows * cols) : null;
    this.d = cols;
    this.mode = this.velocity ? 'dense' : 'sparse';
  }

  deltas(rows: Int32Array, grads: ArrayLike<number>): Float32Array {
    const { d, lr, mu, velocity } = this;
    const out = new Float32Array(rows.length * d);
    for (let k = 0; k < rows.length; k++) {
      const base = rows[k]! * d;
      for (let c = 0; c < d; c++) {
        const g = grads[k * d + c]!;
        if (!velocity) {
          out[k * d + c] = -lr * g;
          continue;
        }
        const m = Math.fround(mu * velocity[base + c]! - lr * g);
        velocity[base + c] = m;
        out[k * d + c] = this.nesterov ? mu * m - lr * g : m;
      }
    }
    return out;
  }
}
