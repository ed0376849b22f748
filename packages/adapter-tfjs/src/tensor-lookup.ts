import { computeOutputShape, DisposedError, type Embedding, UnsupportedFeatureError } from '@embedding-layer/core';
import type * as tfjs from '@tensorflow/tfjs';
import { fastGather } from './fast-gather.js';
import { checkIndexTensor } from './index-tensor.js';
import { tableEntry } from './tfjs-backend.js';
import type { TfjsTable } from './tfjs-table.js';

function tableFor(layer: Embedding): TfjsTable {
  const table = tableEntry(layer.config);
  if (!table) {
    throw new UnsupportedFeatureError('tf.Tensor lookups', layer.backend.name, 'create the layer with createTfjsBackend()');
  }
  if (!table.variable) throw new DisposedError(`Embedding "${layer.config.name}" was disposed; create a new layer.`);
  return table;
}

/**
 * Tensor in, tensor out: `layer.predict` for a `tf.Tensor` of indices (int32 or float32
 * holding integers, any rank >= 1), gathered on the layer's `tf.Variable` without a round trip
 * through JS arrays. On TF.js's `cpu` backend (unless the backend was created with
 * `fastPath: false`) the gather is this package's row-copy kernel
 * (`EMBEDDING_GATHER_KERNEL`), which writes the output tensor's storage directly; on other
 * backends it is `tf.gather`. Returns a float32 `tf.Tensor` of shape `[...indices.shape, outputDim]`
 * that the caller owns (dispose it, or call this inside `tf.tidy`).
 *
 * The indices are validated first with core's rules, exactly as `Embedding.predict` does:
 * `InvalidIndexError` for a negative, non-integer or out-of-range value and
 * `ShapeMismatchError` for a shape `input_length` does not allow, on every TF.js backend.
 * Validation reads the index tensor's values (on WebGL that waits for the GPU); the table is
 * never copied. The layer must come from `Embedding.create(..., { backend: await createTfjsBackend() })`;
 * any other backend rejects with `UnsupportedFeatureError`.
 *
 * @example
 * ```ts
 * const ids = tf.tensor2d([[4], [20]], [2, 1], 'int32');
 * const vectors = lookupTensor(layer, ids); // tf.Tensor [2, 1, 64]
 * ```
 */
export function lookupTensor(layer: Embedding, indices: tfjs.Tensor): tfjs.Tensor {
  const table = tableFor(layer);
  const { inputDim, outputDim, inputLength } = layer.config;
  checkIndexTensor(indices, inputDim);
  computeOutputShape(indices.shape, outputDim, inputLength);
  const tf = table.tf;
  const variable = table.live();
  return tf.tidy(() => {
    const ids = indices.dtype === 'int32' ? indices : tf.cast(indices, 'int32');
    return table.fastPath ? fastGather(tf, variable, ids) : tf.gather(variable, ids);
  });
}

/**
 * Tensor in, tensor out for `layer.computeMask`: null unless `maskZero`; else a bool
 * `tf.Tensor` of the indices' shape, true where the index is not 0. Validates the indices as
 * {@link lookupTensor} does. The caller owns the result.
 */
export function computeMaskTensor(layer: Embedding, indices: tfjs.Tensor): tfjs.Tensor | null {
  const table = tableFor(layer);
  const { inputDim, outputDim, inputLength, maskZero } = layer.config;
  checkIndexTensor(indices, inputDim);
  computeOutputShape(indices.shape, outputDim, inputLength);
  if (!maskZero) return null;
  const tf = table.tf;
  return tf.tidy(() => tf.notEqual(indices, tf.zerosLike(indices)));
}
