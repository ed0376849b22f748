import type { KerasObject } from '../../serialization/keras-object.js';
import { type Optimizer, RowClock, type UpdateMode } from './optimizer.js';

/**
 * RMSprop, Keras 3 formula (`keras/src/optimizers/rmsprop.py`):
 * `v = rho * v + (1 - rho) * g^2`; centered: `mg = rho * mg + (1 - rho) * g`,
 * `denominator = v - mg^2 + epsilon`, else `v + epsilon`; `increment = lr * g / sqrt(denominator)`;
 * with momentum `m = momentum * m + increment`, `w -= m`, else `w -= increment`.
 * Defaults: learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false.
 * TF.js's `'rmsprop'` uses the same formula (epsilon inside the root); Keras 2.2 put epsilon
 * outside it (`lr * g / (sqrt(v) + epsilon)`).
 *
 * Without momentum, sparse and exact: for an idle row g = 0, so its weight stays and its
 * accumulators only decay by rho per step; the decay rho^k is applied when the row is next
 * touched. With momentum an idle row keeps moving, so the update is dense.
 */
export class RmsProp implements Optimizer {
  readonly mode: UpdateMode;
  private readonly c: { learning_rate: number; rho: number; momentum: number; epsilon: number; centered: boolean };
  private readonly v: Float32Array;
  private readonly mg: Float32Array | null;
  private readonly m: Float32Array | null;
  private readonly clock: RowClock;
  private readonly d: number;

  constructor(
    readonly spec: KerasObject,
    rows: number,
    cols: number,
  ) {
    this.c = spec.config as RmsProp['c'];
    this.v = new Float32Array(rows * cols);
    this.mg = this.c.centered ? new Float32Array(rows * cols) : null;
    this.m = this.c.momentum > 0 ? new Float32Array(rows * cols) : null;
    this.clock = new RowClock(rows);
    this.d = cols;
    this.mode = this.m ? 'dense' : 'sparse';
  }

  deltas(rows: Int32Array, grads: ArrayLike<number>, step: number): Float32Array {
    const { d, v, mg, m } = this;
    const { learning_rate: lr, rho, momentum: mu, epsilon } = this.c;
    const out = new Float32Array(rows.length * d);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      const idle = this.clock.idle(row, step);
      const decay = idle > 0 ? rho ** idle : 1;
      const base = row * d;
      for (let c = 0; c < d; c++) {
        const i = base + c;
        const g = grads[k * d + c]!;
        const vi = Math.fround(rho * (decay === 1 ? v[i]! : Math.fround(v[i]! * decay)) + (1 - rho) * g * g);
        v[i] = vi;
        let denominator = vi + epsilon;
        if (mg) {
          const a = Math.fround(rho * (decay === 1 ? mg[i]! : Math.fround(mg[i]! * decay)) + (1 - rho) * g);
          mg[i] = a;
          denominator = vi - a * a + epsilon;
        }
        const increment = (lr * g) / Math.sqrt(denominator);
        if (m) {
          const mi = Math.fround(mu * m[i]! + increment);
          m[i] = mi;
          out[k * d + c] = -mi;
        } else {
          out[k * d + c] = -increment;
        }
      }
    }
    return out;
  }
}
