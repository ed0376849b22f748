import type { Xoshiro128 } from '../random/prng.js';
import type { IndexTensor } from '../tensor/types.js';

/**
 * Word-embedding dropout from Gal and Ghahramani, "A Theoretically Grounded Application of
 * Dropout in Recurrent Neural Networks" (2016), section 4.2: in training, each word TYPE of a
 * sequence is dropped with probability `rate` (the same word is dropped at every position of
 * that sequence), and kept rows are scaled by 1 / (1 - rate). A sequence is one entry of the
 * first (batch) dimension.
 *
 * Returns one scale per index position: 0 (dropped) or 1 / (1 - rate) (kept).
 */
export function embeddingDropoutScales(indices: IndexTensor, rate: number, rng: Xoshiro128): Float32Array {
  const scales = new Float32Array(indices.data.length);
  const batch = indices.shape[0] ?? 0;
  const perSequence = batch === 0 ? 0 : indices.data.length / batch;
  const kept = 1 / (1 - rate);
  for (let s = 0; s < batch; s++) {
    const decided = new Map<number, number>();
    for (let j = s * perSequence; j < (s + 1) * perSequence; j++) {
      const id = indices.data[j]!;
      let scale = decided.get(id);
      if (scale === undefined) {
        scale = rng.nextFloat64() < rate ? 0 : kept;
        decided.set(id, scale);
      }
      scales[j] = scale;
    }
  }
  return scales;
}
