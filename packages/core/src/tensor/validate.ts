/** What `layer.validate()` (and `validateWeights` of `@embedding-layer/core/backend`) found in a weight matrix. */
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

/** @internal A report of nothing yet. */
export function emptyReport(): WeightReport {
  return { ok: true, nan: 0, infinite: 0, first: null };
}

/** @internal Adds a block of whole rows (row-major, `cols` wide, starting at row `firstRow`) to a report. */
export function addToReport(report: WeightReport, block: Float32Array, cols: number, firstRow: number): void {
  for (let i = 0; i < block.length; i++) {
    const v = block[i]!;
    if (v - v !== 0) {
      if (Number.isNaN(v)) report.nan++;
      else report.infinite++;
      if (report.first === null) {
        report.first = { row: firstRow + (cols === 0 ? 0 : Math.floor(i / cols)), column: cols === 0 ? 0 : i % cols, value: v };
        report.ok = false;
      }
    }
  }
}

/**
 * Reports NaN and infinite values in a row-major (rows x cols) weight matrix. `setWeights`
 * accepts them, as Keras does (they are data, not a type error); call this to find them, e.g.
 * after loading a file or a diverged training run.
 */
export function validateWeights(weights: Float32Array, cols: number): WeightReport {
  const report = emptyReport();
  addToReport(report, weights, cols, 0);
  return report;
}
