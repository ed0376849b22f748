import { describeValue } from '../errors/describe-value.js';
import { ShapeMismatchError } from '../errors/shape-mismatch-error.js';
import type { NativeIndexView, NativeTensorsV2 } from '../spec/v2/embedding-backend-v2.js';
import { toIndexTensor } from './indices.js';
import type { IndexData, IndexTensor } from './types.js';

/**
 * Validates a native index tensor (a `tf.Tensor`, an `ort.Tensor`...) with core's rules: it
 * must be a tensor of the backend's kind whose values are a typed array (any integer type,
 * float32/float64 holding integers, bool as uint8), each an integer in [0, inputDim). The same
 * errors as `predict`: `ShapeMismatchError` for something else, `InvalidIndexError` for a bad
 * value. `Embedding.lookupNative` runs it, and so can an adapter's own tensor entry points.
 */
export function checkNativeIndices(native: NativeTensorsV2, value: unknown, inputDim: number, what = 'indices'): IndexTensor {
  const view: NativeIndexView | null = native.read(value);
  if (view === null) throw new ShapeMismatchError(`${what}: expected a ${native.kind} of indices, received ${describeValue(value)}.`);
  if (!ArrayBuffer.isView(view.data) || view.data instanceof DataView) {
    throw new ShapeMismatchError(
      `${what}: a ${native.kind} of dtype ${view.dtype} cannot hold indices (or was disposed); use an integer dtype, float32/float64 holding integers, or bool.`,
    );
  }
  return toIndexTensor({ data: view.data as unknown as IndexData, shape: view.shape }, inputDim);
}

/** The number of values a native index tensor holds, before its values are validated (null when it is not one). */
export function nativeCount(native: NativeTensorsV2, value: unknown): number | null {
  const view = native.read(value);
  if (view === null || !Array.isArray(view.shape)) return null;
  return view.shape.reduce((a: number, b: number) => a * b, 1);
}
