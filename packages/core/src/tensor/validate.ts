/** What {@link validateWeights} found in a weight matrix. */
export interface WeightReport {
  /** True when every value is finite. */
  ok: boolean;
  /** Count of NaN values. */
  nan: number;
  /** Count of +Infinity and -Infinity values. */
  infinite: number;
  /** Row and column of the first non-finite value, or null. */
  first: { row: number; column: number; value: number } | null;
}

/**
 * Reports NaN and infinite values in a row-major (rows x cols) weight matrix. `setWeights`
 * accepts them, as Keras does (they are data, not a type error); call this to find them, e.g.
 * after loading a file or a diverged training run.
 */
export function validateWeights(weights: Float32Array, cols: number): WeightReport {
  let nan = 0;
  let infinite = 0;
  let first = -1;
  for (let i = 0; i < weights.length; i++) {
    const v = weights[i]!;
    if (v - v !== 0) {
      if (Number.isNaN(v)) nan++;
      else infinite++;
      if (first < 0) first = i;
    }
  }
  return {
    ok: first < 0,
    nan,
    infinite,
    first:
      first < 0 ? null : { row: cols === 0 ? 0 : Math.floor(first / cols), column: cols === 0 ? 0 : first % cols, value: weights[first]! },
  };
}
