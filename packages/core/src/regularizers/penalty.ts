import type { KerasObject } from '../serialization/keras-object.js';

function factors(regularizer: KerasObject): { l1: number; l2: number } {
  const c = regularizer.config as { l1?: number; l2?: number };
  return { l1: c.l1 ?? 0, l2: c.l2 ?? 0 };
}

/** The penalty `l1 * sum(|x|) + l2 * sum(x^2)` in float64, as Keras adds it to the loss. */
export function regularizerPenalty(regularizer: KerasObject, x: ArrayLike<number>): number {
  const { l1, l2 } = factors(regularizer);
  let a = 0;
  let b = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    a += Math.abs(v);
    b += v * v;
  }
  return l1 * a + l2 * b;
}

/** Adds the penalty's gradient `l1 * sign(x) + 2 * l2 * x` into `grad` (float64 math). */
export function addRegularizerGradient(regularizer: KerasObject, x: ArrayLike<number>, grad: Float32Array | Float64Array): void {
  const { l1, l2 } = factors(regularizer);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    grad[i] = grad[i]! + l1 * Math.sign(v) + 2 * l2 * v;
  }
}

/** Running sums of |x| and x^2 (float64) over a table read in row ranges, for {@link penaltyFromSums}. */
export interface PenaltySums {
  abs: number;
  squares: number;
}

/** Adds a block's |x| and x^2 to `sums`, in order (the same float64 additions as {@link regularizerPenalty} over the whole table). */
export function addPenaltySums(x: ArrayLike<number>, sums: PenaltySums): void {
  let a = sums.abs;
  let b = sums.squares;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    a += Math.abs(v);
    b += v * v;
  }
  sums.abs = a;
  sums.squares = b;
}

/** The penalty `l1 * sum(|x|) + l2 * sum(x^2)` from sums gathered with {@link addPenaltySums}. */
export function penaltyFromSums(regularizer: KerasObject, sums: PenaltySums): number {
  const { l1, l2 } = factors(regularizer);
  return l1 * sums.abs + l2 * sums.squares;
}
