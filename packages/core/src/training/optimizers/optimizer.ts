import type { KerasObject } from '../../serialization/keras-object.js';

/**
 * How an optimizer's step reaches the rows:
 * - `sparse`: only the rows a batch touched are updated, and rows that sat idle catch up in
 *   closed form when next touched, so the weights equal the dense update's (to float32 rounding);
 * - `lazy`: only touched rows are updated and idle rows do not catch up (TF's LazyAdam: not the
 *   dense result);
 * - `dense`: every row is updated every step (Keras's semantics when no closed form exists).
 */
export type UpdateMode = 'sparse' | 'lazy' | 'dense';

/** One optimizer bound to one (inputDim x outputDim) table, holding its slots (float32, as Keras). */
export interface Optimizer {
  /** Its resolved Keras config. */
  readonly spec: KerasObject;
  readonly mode: UpdateMode;
  /**
   * The deltas to add to the given distinct rows at iteration `step` (1-based), from their
   * gradients (`rows.length x outputDim`). In `dense` mode the trainer passes every row.
   */
  deltas(rows: Int32Array, grads: ArrayLike<number>, step: number): Float32Array;
}

/** Per-row bookkeeping shared by the optimizers: the iteration each row was last updated at. */
export class RowClock {
  private readonly last: Int32Array;

  constructor(rows: number) {
    this.last = new Int32Array(rows);
  }

  /** Idle iterations of `row` before `step`, and marks it updated at `step`. */
  idle(row: number, step: number): number {
    const k = step - 1 - this.last[row]!;
    this.last[row] = step;
    return k;
  }
}
