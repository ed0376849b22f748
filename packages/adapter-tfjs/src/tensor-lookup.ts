import { type Embedding, UnsupportedFeatureError } from '@embedding-layer/core';
import type * as tfjs from '@tensorflow/tfjs';
import { TFJS_TENSOR_KIND } from './tfjs-backend.js';
import type { TfjsNative } from './tfjs-table.js';

/** The layer as a TF.js layer, or UnsupportedFeatureError for a layer of another backend. */
function tfjsLayer(layer: Embedding): Embedding<TfjsNative> {
  if (layer.backend.specificationVersion !== 'v2' || layer.backend.native?.kind !== TFJS_TENSOR_KIND) {
    throw new UnsupportedFeatureError('tf.Tensor lookups', layer.backend.name, 'create the layer with createTfjsBackend()');
  }
  return layer as unknown as Embedding<TfjsNative>;
}

/**
 * Tensor in, tensor out: `layer.predict` for a `tf.Tensor` of indices (int32 or float32
 * holding integers, any rank >= 1), gathered on the layer's `tf.Variable` without a round trip
 * through JS arrays. This is core's `layer.lookupNative(indices)`, which validates the indices
 * exactly as `Embedding.predict` does (`InvalidIndexError` for a negative, non-integer or
 * out-of-range value, `ShapeMismatchError` for a shape `input_length` does not allow or a
 * tensor that cannot hold indices, `LimitExceededError` for an output over the backend's limit,
 * `DisposedError` after dispose) before any TF.js kernel runs. On TF.js's `cpu` and `wasm`
 * backends (unless the backend was created with `fastPath: false`) the gather is this package's
 * row-copy kernel (`EMBEDDING_GATHER_KERNEL`); on other backends it is `tf.gather`. Returns a float32 `tf.Tensor`
 * of shape `[...indices.shape, outputDim]` that the caller owns (dispose it, or call this
 * inside `tf.tidy`). A layer of another backend throws `UnsupportedFeatureError`.
 *
 * @example
 * ```ts
 * const ids = tf.tensor2d([[4], [20]], [2, 1], 'int32');
 * const vectors = lookupTensor(layer, ids); // tf.Tensor [2, 1, 64]
 * ```
 */
export function lookupTensor(layer: Embedding, indices: tfjs.Tensor): tfjs.Tensor {
  return tfjsLayer(layer).lookupNative(indices);
}

/**
 * Tensor in, tensor out for `layer.computeMask` (core's `layer.computeMaskNative`): null unless
 * `maskZero`; else a bool `tf.Tensor` of the indices' shape, true where the index is not 0.
 * Validates the indices as {@link lookupTensor} does. The caller owns the result.
 */
export function computeMaskTensor(layer: Embedding, indices: tfjs.Tensor): tfjs.Tensor | null {
  return tfjsLayer(layer).computeMaskNative(indices);
}
