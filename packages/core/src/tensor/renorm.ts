import type { IndexTensor } from './types.js';

/** PyTorch's epsilon in `torch.embedding_renorm_`: `scale = max_norm / (norm + 1e-7)`. */
export const RENORM_EPSILON = 1e-7;

/** The p-norm of `d` values of `rows` from `offset` (float64 sums; `p = Infinity`: the max |value|). */
export function rowNorm(rows: ArrayLike<number>, offset: number, d: number, p: number): number {
  if (p === Number.POSITIVE_INFINITY) {
    let max = 0;
    for (let c = 0; c < d; c++) max = Math.max(max, Math.abs(rows[offset + c]!));
    return max;
  }
  let sum = 0;
  if (p === 2) {
    for (let c = 0; c < d; c++) sum += rows[offset + c]! * rows[offset + c]!;
    return Math.sqrt(sum);
  }
  if (p === 1) {
    for (let c = 0; c < d; c++) sum += Math.abs(rows[offset + c]!);
    return sum;
  }
  for (let c = 0; c < d; c++) sum += Math.abs(rows[offset + c]!) ** p;
  return sum ** (1 / p);
}

/** The distinct ids of a lookup, ascending (as `torch.embedding_renorm_` visits them). */
export function distinctIds(indices: IndexTensor): Int32Array {
  const ids = Int32Array.from(indices.data).sort();
  let n = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[i - 1]) ids[n++] = ids[i]!;
  return ids.slice(0, n);
}

/**
 * `torch.embedding_renorm_` on gathered rows (`rows.length / d` rows, row-major), in place:
 * each row whose `normType`-norm exceeds `maxNorm` is multiplied by
 * `maxNorm / (norm + 1e-7)` (the scale in float64, the product in float32 as PyTorch's CPU
 * kernel computes it). Returns the positions of the rows it changed.
 */
export function renormRows(rows: Float32Array, d: number, maxNorm: number, normType: number): number[] {
  const changed: number[] = [];
  const count = d === 0 ? 0 : rows.length / d;
  for (let r = 0; r < count; r++) {
    const norm = rowNorm(rows, r * d, d, normType);
    if (!(norm > maxNorm)) continue;
    const scale = Math.fround(maxNorm / (norm + RENORM_EPSILON));
    for (let c = 0; c < d; c++) rows[r * d + c] = Math.fround(rows[r * d + c]! * scale);
    changed.push(r);
  }
  return changed;
}
