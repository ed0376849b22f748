import type { OnnxIndexType } from '@embedding-layer/onnx-model';

const LOW_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

/**
 * Validated int32 indices in the session's index type. int32 indices that core owns (`owned`:
 * `predict` hands the backend a copy whenever the validated array still shares the caller's
 * memory) are fed as they are: no copy per call. Otherwise a fresh copy: ONNX Runtime reads
 * the feed later (after a `setImmediate`), and a caller could change its own array in between;
 * the copy guarantees the session sees exactly the values core checked (never a negative
 * index, which Gather would wrap to the last rows).
 *
 * int64 is always a new array, written through an Int32Array view (low word = the index, high
 * word = 0, valid because indices are in [0, 2^31)), so no BigInt is created per element.
 */
export function indexFeed(indices: Int32Array, indexType: OnnxIndexType, owned: boolean): Int32Array | BigInt64Array {
  if (indexType === 'int32') return owned ? indices : indices.slice();
  const out = new BigInt64Array(indices.length);
  const words = new Int32Array(out.buffer);
  for (let i = 0; i < indices.length; i++) words[2 * i + LOW_WORD] = indices[i]!;
  return out;
}
