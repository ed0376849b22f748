import type { KerasObject } from '../serialization/keras-object.js';

/** Keras's epsilon in norm constraints. */
const EPSILON = 1e-7;

/**
 * Applies a constraint to the row-major (rows x cols) matrix in place, with Keras's formulas
 * (norms in float64): MaxNorm `w * clip(n, 0, max) / (eps + n)`, UnitNorm `w / (eps + n)`,
 * MinMaxNorm `w * (rate * clip(n, min, max) + (1 - rate) * n) / (eps + n)`, NonNeg `w * (w >= 0)`.
 * `axis` 0 takes norms over rows (one per column), 1 over columns (one per embedding vector).
 */
export function applyConstraint(constraint: KerasObject, w: Float32Array, rows: number, cols: number): void {
  const c = constraint.config as { axis?: number; max_value?: number; min_value?: number; rate?: number };
  if (constraint.className === 'NonNeg') {
    // Keras: w * (w >= 0), so a negative becomes -0 and NaN stays NaN.
    for (let i = 0; i < w.length; i++) if (w[i]! < 0) w[i] = -0;
    return;
  }
  const perColumn = c.axis === 0 || c.axis === -2;
  const groups = perColumn ? cols : rows;
  const length = perColumn ? rows : cols;
  const at = perColumn ? (g: number, k: number) => k * cols + g : (g: number, k: number) => g * cols + k;
  for (let g = 0; g < groups; g++) {
    let sq = 0;
    for (let k = 0; k < length; k++) sq += w[at(g, k)]! ** 2;
    const n = Math.sqrt(sq);
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
    const scale = desired / (EPSILON + n);
    for (let k = 0; k < length; k++) {
      const i = at(g, k);
      w[i] = w[i]! * scale;
    }
  }
}
