import type { KerasObject } from '../../serialization/keras-object.js';
import type { Optimizer, UpdateMode } from './optimizer.js';

/**
 * Adam, Keras 3 formula (`keras/src/optimizers/adam.py`; Keras 2 agrees):
 * `alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`, `m += (g - m) * (1 - beta_1)`,
 * `v += (g^2 - v) * (1 - beta_2)`, amsgrad: `v_hat = max(v_hat, v)` used in place of v,
 * `w -= alpha * m / (sqrt(v) + epsilon)` ("epsilon hat"). Defaults: learning_rate 0.001,
 * beta_1 0.9, beta_2 0.999, epsilon 1e-7, amsgrad false.
 * TF.js's `'adam'` differs: `w -= lr * m_hat / (sqrt(v_hat) + epsilon)` with epsilon on the
 * bias-corrected root (the two drift apart on rarely touched rows).
 *
 * No closed form exists for an idle row (alpha changes every step), so the default is the
 * exact dense update (every row, every step). `lazy: true` is the sparse Adam of TF's LazyAdam
 * and PyTorch's `torch.optim.SparseAdam` (same formula and epsilon placement; checked against
 * SparseAdam in adapter-js's sparse-adam test): only touched rows update their moments and
 * weights, which is NOT Keras's result.
 */
export class Adam implements Optimizer {
  readonly mode: UpdateMode;
  private readonly c: { learning_rate: number; beta_1: number; beta_2: number; epsilon: number; amsgrad: boolean };
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly vHat: Float32Array | null;
  private readonly d: number;

  constructor(
    readonly spec: KerasObject,
    rows: number,
    cols: number,
  ) {
    this.c = spec.config as Adam['c'];
    this.m = new Float32Array(rows * cols);
    this.v = new Float32Array(rows * cols);
    this.vHat = this.c.amsgrad ? new Float32Array(rows * cols) : null;
    this.d = cols;
    this.mode = (spec.config as { lazy?: boolean }).lazy ? 'lazy' : 'dense';
  }

  deltas(rows: Int32Array, grads: ArrayLike<number>, step: number): Float32Array {
    const { d, m, v, vHat } = this;
    const { learning_rate: lr, beta_1: b1, beta_2: b2, epsilon } = this.c;
    const alpha = (lr * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step);
    const out = new Float32Array(rows.length * d);
    for (let k = 0; k < rows.length; k++) {
      const base = rows[k]! * d;
      for (let c = 0; c < d; c++) {
        const i = base + c;
        const g = grads[k * d + c]!;
        const mi = Math.fround(m[i]! + (g - m[i]!) * (1 - b1));
        m[i] = mi;
        let vi = Math.fround(v[i]! + (g * g - v[i]!) * (1 - b2));
        v[i] = vi;
        if (vHat) {
          vi = Math.max(vHat[i]!, vi);
          vHat[i] = vi;
        }
        out[k * d + c] = -(alpha * mi) / (Math.sqrt(vi) + epsilon);
      }
    }
    return out;
  }
}
