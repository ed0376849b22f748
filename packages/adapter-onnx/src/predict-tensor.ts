import { type Embedding, type IndexData, ShapeMismatchError, toIndexTensor } from '@embedding-layer/core';
import type * as Ort from 'onnxruntime-node';
import { onnxTableOf } from './onnx-backend.js';
import { loadOnnxRuntime, type OnnxRuntime, type OnnxRuntimeSource } from './runtime/load-runtime.js';

/** The result of {@link predictTensor}: ONNX Runtime tensors. */
export interface OrtLookupResult {
  /** float32, dims `[...indices.dims, outputDim]`. */
  output: Ort.Tensor;
  /** bool (`indices != 0`), dims of the indices, when the layer has mask_zero; else null. */
  mask: Ort.Tensor | null;
}

/** Options of {@link predictTensor}. */
export interface PredictTensorOptions {
  /** The runtime that makes the result tensors for a layer on another backend. Default: the layer's own, or `import('onnxruntime-node')`. */
  runtime?: OnnxRuntimeSource;
}

/** Tensor types whose data core's `toIndexTensor` accepts (floats must hold integers, as Keras accepts float inputs). */
const INDEX_TYPES = ['int32', 'int64', 'uint32', 'int16', 'uint16', 'int8', 'uint8', 'float32', 'float64'];

/**
 * Looks up an `ort.Tensor` of indices and returns `ort.Tensor`s: `Embedding.predict` for
 * callers who already hold ONNX Runtime tensors. The indices are validated first with core's
 * `toIndexTensor` (and the layer's input_length): a negative, fractional or out-of-range
 * index rejects with `InvalidIndexError` and never reaches the session (where Gather would
 * wrap `-1` to the last row).
 *
 * On an ONNX-backend layer it runs the layer's session (output and mask come from the
 * graph); on any other backend it calls `layer.predict` / `layer.computeMask` and wraps the
 * results.
 *
 * @throws ShapeMismatchError when `indices` is not a tensor of an integer (or float) type.
 */
export async function predictTensor(layer: Embedding, indices: Ort.Tensor, options: PredictTensorOptions = {}): Promise<OrtLookupResult> {
  const t = indices as Partial<Ort.Tensor> | null;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.dims) || typeof t.type !== 'string' || !('data' in t)) {
    throw new ShapeMismatchError(`predictTensor expected an ort.Tensor of indices, received ${t === null ? 'null' : typeof t}.`);
  }
  if (!INDEX_TYPES.includes(t.type)) {
    throw new ShapeMismatchError(`predictTensor expected an index tensor of type ${INDEX_TYPES.join(', ')}; received type "${t.type}".`);
  }
  const { inputDim, outputDim, maskZero } = layer.config;
  const checked = toIndexTensor({ data: t.data as IndexData, shape: t.dims as number[] }, inputDim);
  layer.computeOutputShape(checked.shape);
  const dims = [...checked.shape];
  const outDims = [...dims, outputDim];
  const table = onnxTableOf(layer);
  const runtime: OnnxRuntime = table ? table.runtime : await loadOnnxRuntime(options.runtime);
  const { Tensor } = runtime;

  if (table && checked.data.length > 0 && outputDim > 0) {
    const { output, mask } = await table.run(checked.data, true);
    return {
      output: new Tensor('float32', output.data as Float32Array, outDims),
      mask: mask ? new Tensor('bool', mask.data as Uint8Array, dims) : null,
    };
  }
  // Another backend, or nothing to gather: core's answers, as tensors.
  const out = await layer.predict(checked);
  const mask = maskZero ? layer.computeMask(checked) : null;
  return {
    output: new Tensor('float32', out.data, outDims),
    mask: mask ? new Tensor('bool', mask.data, dims) : null,
  };
}
