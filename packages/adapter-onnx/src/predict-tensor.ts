import type { Embedding } from '@embedding-layer/core';
import { checkNativeIndices } from '@embedding-layer/core/backend';
import type * as Ort from 'onnxruntime-node';
import { type OnnxNative, ORT_NATIVE, ORT_TENSOR_KIND, type OrtLookupResult } from './onnx-backend.js';
import { loadOnnxRuntime, type OnnxRuntimeSource } from './runtime/load-runtime.js';

/** Options of {@link predictTensor}. */
export interface PredictTensorOptions {
  /** The runtime that makes the result tensors for a layer on another backend. Default: `import('onnxruntime-node')`. */
  runtime?: OnnxRuntimeSource;
}

/**
 * Looks up an `ort.Tensor` of indices and returns `ort.Tensor`s: `Embedding.predict` for
 * callers who already hold ONNX Runtime tensors. The indices are validated by core, with the
 * same rules and errors as `predict` (`checkNativeIndices`): a negative, fractional or
 * out-of-range index rejects with `InvalidIndexError` and never reaches the session (where
 * Gather would wrap `-1` to the last row); a tensor that cannot hold indices (strings,
 * float16 bit patterns) with `ShapeMismatchError`.
 *
 * On an ONNX-backend layer this is core's `layer.lookupNative(indices)`, which runs the layer's
 * session (output and mask come from the graph); on any other backend it calls
 * `layer.predict` / `layer.computeMask` and wraps the results.
 */
export async function predictTensor(layer: Embedding, indices: Ort.Tensor, options: PredictTensorOptions = {}): Promise<OrtLookupResult> {
  if (layer.backend.specificationVersion === 'v2' && layer.backend.native?.kind === ORT_TENSOR_KIND) {
    return (layer as unknown as Embedding<OnnxNative>).lookupNative(indices);
  }
  // Another backend: core's answers, as tensors.
  const checked = checkNativeIndices(ORT_NATIVE, indices, layer.config.inputDim, 'predictTensor');
  const { Tensor } = await loadOnnxRuntime(options.runtime);
  const out = await layer.predict(checked);
  const mask = layer.computeMask(checked);
  return {
    output: new Tensor('float32', out.data, out.shape),
    mask: mask ? new Tensor('bool', mask.data, mask.shape) : null,
  };
}
