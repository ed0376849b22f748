import type { IndexTensor, MaskTensor } from './types.js';

/** Keras's `compute_mask`: null without `mask_zero`, else `indices != 0` (1/0), same shape as the indices. */
export function computeMask(indices: IndexTensor, maskZero: boolean): MaskTensor | null {
  if (!maskZero) return null;
  const data = new Uint8Array(indices.data.length);
  for (let i = 0; i < data.length; i++) data[i] = indices.data[i] !== 0 ? 1 : 0;
  return { data, shape: [...indices.shape] };
}
