import type { IndexTensor } from '../tensor/types.js';

/** The gradient of a lookup with respect to the table: the distinct rows it touched and their summed gradients. */
export interface SparseGradient {
  /** Distinct row ids, in order of first appearance. */
  rows: Int32Array;
  /** rows.length x outputDim, row-major: the sum (in float64) of the output gradients of every position that looked the row up. */
  values: Float64Array;
}

/**
 * Reduces the output gradient of a lookup (shape `[...indices.shape, outputDim]`) to the
 * table gradient: duplicate indices accumulate (sums in float64). Costs
 * O(indices x outputDim), never O(inputDim x outputDim).
 */
export function sparseGradient(indices: IndexTensor, outputGradient: ArrayLike<number>, outputDim: number): SparseGradient {
  const slot = new Map<number, number>();
  const order: number[] = [];
  const ids = indices.data;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!slot.has(id)) {
      slot.set(id, order.length);
      order.push(id);
    }
  }
  const sums = new Float64Array(order.length * outputDim);
  for (let i = 0; i < ids.length; i++) {
    const base = slot.get(ids[i]!)! * outputDim;
    const src = i * outputDim;
    for (let c = 0; c < outputDim; c++) sums[base + c]! += outputGradient[src + c]!;
  }
  return { rows: Int32Array.from(order), values: sums };
}
