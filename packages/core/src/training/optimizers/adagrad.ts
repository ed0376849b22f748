import type { KerasObject } from '../../serialization/keras-object.js';
import type { Optimizer, UpdateMode } from './optimizer.js';

/**
 * Adagrad, Keras 3 formula (`keras/src/optimizers/adagrad.py`): `acc += g^2`,
 * `w -= lr * g / sqrt(acc + epsilon)`. Defaults: learning_rate 0.001,
 * initial_accumulator_value 0.1, epsilon 1e-7. Keras 2.2 started the accumulator at 0 with
 * lr 0.01; TF.js's `'adagrad'` uses lr 0.01 and accumulator 0.1 with this formula.
 *
 * Sparse and exact: with g = 0 neither the accumulator nor the weight moves.
 */
export class Adagrad implements Optimizer {
  readonly mode: UpdateMode = 'sparse';
  private readonly c: { learning_rate: number; initial_accumulator_value: number; epsilon: number };
  private readonly acc: Float32Array;
  private readonly d: number;

  constructor(
    readonly spec: KerasObject,
    rows: number,
    cols: number,
  ) {
    this.c = spec.config as Adagrad['c'];
    this.acc = new Float32Array(rows * cols).fill(this.c.initial_accumulator_value);
    this.d = cols;
  }

  deltas(rows: Int32Array, grads: ArrayLike<number>): Float32Array {
    const { d, acc } = this;
    const { learning_rate: lr, epsilon } = this.c;
    const out = new Float32Array(rows.length * d);
    for (let k = 0; k < rows.length; k++) {
      const base = rows[k]! * d;
      for (let c = 0; c < d; c++) {
        const g = grads[k * d + c]!;
        const a = Math.fround(acc[base + c]! + g * g);
        acc[base + c] = a;
        out[k * d + c] = -(lr * g) / Math.sqrt(a + epsilon);
      }
    }
    return out;
  }
}
