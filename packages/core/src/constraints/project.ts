import type { KerasObject } from '../serialization/keras-object.js';

/** Keras's epsilon in norm constraints. */
const EPSILON = 1e-7;

type NormConfig = { axis?: number; max_value?: number; min_value?: number; rate?: number };

/** Whether the constraint's norms run over rows (one per column: `axis` 0), which needs a pass over the whole matrix first. */
export function constraintPerColumn(constraint: KerasObject): boolean {
  const c = constraint.config as NormConfig;
  return constraint.className !== 'NonNeg' && (c.axis === 0 || c.axis === -2);
}

/** The factor Keras multiplies a group of norm `n` by. */
function normScale(constraint: KerasObject, n: number): number {
  const c = constraint.config as NormConfig;
  let desired: number;
  switch (constraint.className) {
    case 'MaxNorm':
      desired = Math.min(Math.max(n, 0), c.max_value!);
      break;
    case 'UnitNorm':
      desired = 1;
      break;
    default: {
      const rate = c.rate!;
      desired = rate * Math.min(Math.max(n, c.min_value!), c.max_value!) + (1 - rate) * n;
    }
  }
  return desired / (EPSILON + n);
}

/**
 * Adds the squares of a block of rows (row-major, `cols` wide) into per-column sums (float64):
 * the first pass of a per-column (`axis` 0) constraint over a table read in row ranges.
 */
export function addColumnSquares(block: Float32Array, cols: number, sums: Float64Array): void {
  for (let i = 0; i < block.length; i++) sums[i % cols]! += block[i]! ** 2;
}

/** The per-column factors of a per-column constraint, from {@link addColumnSquares}'s sums. */
export function columnScales(constraint: KerasObject, sums: Float64Array): Float64Array {
  return sums.map((sq) => normScale(constraint, Math.sqrt(sq)));
}

/**
 * Applies a constraint to a block of whole rows (row-major, `cols` wide) in place, with Keras's
 * formulas (norms in float64): MaxNorm `w * clip(n, 0, max) / (eps + n)`, UnitNorm
 * `w / (eps + n)`, MinMaxNorm `w * (rate * clip(n, min, max) + (1 - rate) * n) / (eps + n)`,
 * NonNeg `w * (w >= 0)`. Per-row constraints (`axis` 1) need nothing else; per-column ones
 * (`axis` 0, norms over the vocabulary) take the factors of {@link columnScales}.
 */
export function applyConstraintRows(constraint: KerasObject, block: Float32Array, cols: number, scales: Float64Array | null): void {
  if (constraint.className === 'NonNeg') {
    // Keras: w * (w >= 0), so a negative becomes -0 and NaN stays NaN.
    for (let i = 0; i < block.length; i++) if (block[i]! < 0) block[i] = -0;
    return;
  }
  if (scales) {
    for (let i = 0; i < block.length; i++) block[i] = block[i]! * scales[i % cols]!;
    return;
  }
  const rows = cols === 0 ? 0 : block.length / cols;
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let k = 0; k < cols; k++) sq += block[r * cols + k]! ** 2;
    const scale = normScale(constraint, Math.sqrt(sq));
    for (let k = 0; k < cols; k++) block[r * cols + k] = block[r * cols + k]! * scale;
  }
}

/**
 * Applies a constraint to the whole row-major (rows x cols) matrix in place (Keras's formulas,
 * see {@link applyConstraintRows}). `axis` 0 takes norms over rows (one per column), 1 over
 * columns (one per embedding vector).
 */
export function applyConstraint(constraint: KerasObject, w: Float32Array, rows: number, cols: number): void {
  let scales: Float64Array | null = null;
  if (constraintPerColumn(constraint)) {
    const sums = new Float64Array(cols);
    addColumnSquares(w.subarray(0, rows * cols), cols, sums);
    scales = columnScales(constraint, sums);
  }
  applyConstraintRows(constraint, w.subarray(0, rows * cols), cols, scales);
}
