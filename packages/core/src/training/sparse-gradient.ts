import type { IndexTensor } from '../tensor/types.js';

/** The gradient of a lookup with respect to the table: the distinct rows it touched and their summed gradients. */
export interface SparseGradient {
  /** Distinct row ids, in order of first appearance. */
  rows: Int32Array;
  /** rows.length x outputDim, row-major: the sum (in float64) of the output gradients of every position that looked the row up. */
  values: Float64Array;
}

/** PyTorch's options of the lookup's backward pass. */
export interface SparseGradientOptions {
  /** `scale_grad_by_freq`: divide each row's summed gradient by the number of times the batch looked it up. */
  scaleGradByFreq?: boolean;
  /** `padding_idx`: this row receives no gradient (it is left out of the result). */
  paddingIdx?: number | null;
}

/**
 * Reduces the output gradient of a lookup (shape `[...indices.shape, outputDim]`) to the
 * table gradient: duplicate indices accumulate (sums in float64). Costs
 * O(indices x outputDim), never O(inputDim x outputDim).
 */
export function sparseGradient(
  indices: IndexTensor,
  outputGradient: ArrayLike<number>,
  outputDim: number,
  options: SparseGradientOptions = {},
): SparseGradient {
  const slot = new Map<number, number>();
  const order: number[] = [];
  const counts: number[] = [];
  const padding = options.paddingIdx ?? -1;
  const ids = indices.data;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === padding) continue;
    const k = slot.get(id);
    if (k === undefined) {
      slot.set(id, order.length);
      order.push(id);
      counts.push(1);
    } else {
      counts[k]!++;
    }
  }
  const sums = new Float64Array(order.length * outputDim);
  for (let i = 0; i < ids.length; i++) {
    const k = slot.get(ids[i]!);
    if (k === undefined) continue;
    const base = k * outputDim;
    const src = i * outputDim;
    for (let c = 0; c < outputDim; c++) sums[base + c]! += outputGradient[src + c]!;
  }
  if (options.scaleGradByFreq) {
    for (let k = 0; k < order.length; k++) {
      const n = counts[k]!;
      if (n > 1) for (let c = 0; c < outputDim; c++) sums[k * outputDim + c]! /= n;
    }
  }
  return { rows: Int32Array.from(order), values: sums };
}
