import type { Xoshiro128 } from '../random/prng.js';

/**
 * Keras's Orthogonal initializer for a (rows, cols) matrix, in float64.
 *
 * As Keras: draw A ~ N(0, 1) of shape (max(rows, cols), min(rows, cols)) in row-major order,
 * take its QR decomposition with R's diagonal made positive (Keras multiplies Q by sign(diag R);
 * Gram-Schmidt gives that Q directly), transpose when rows < cols, multiply by `gain`.
 * Modified Gram-Schmidt with one re-orthogonalisation pass keeps Q orthogonal to ~1e-15.
 */
export function fillOrthogonal(out: Float32Array, rng: Xoshiro128, rows: number, cols: number, gain: number): void {
  const n = Math.max(rows, cols);
  const m = Math.min(rows, cols);
  if (m === 0) return;
  const columns: Float64Array[] = Array.from({ length: m }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) columns[j]![i] = rng.nextNormal();
  for (let j = 0; j < m; j++) {
    const v = columns[j]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const q = columns[k]!;
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i]! * v[i]!;
        for (let i = 0; i < n; i++) v[i]! -= dot * q[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) v[i]! /= norm;
  }
  // Q is n x m with Q[i][j] = columns[j][i]. rows >= cols: W = Q; else W = Q^T.
  if (rows >= cols) {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * columns[j]![i]!;
  } else {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * columns[i]![j]!;
  }
}
