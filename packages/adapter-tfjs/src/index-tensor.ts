import { type IndexTensor, ShapeMismatchError, toIndexTensor } from '@embedding-layer/core';
import type * as tfjs from '@tensorflow/tfjs';

/** Index tensor dtypes accepted, as `tf.layers.embedding` casts them to int32. */
const INDEX_DTYPES = ['int32', 'float32', 'bool'];

/**
 * Validates a `tf.Tensor` of indices with core's rules (`toIndexTensor`): every value an
 * integer in [0, inputDim), else `InvalidIndexError` naming the value and its position.
 * Reads the tensor's data (synchronously: on WebGL this waits for the GPU); never copies a table.
 */
export function checkIndexTensor(indices: tfjs.Tensor, inputDim: number): IndexTensor {
  if (typeof indices !== 'object' || indices === null || typeof indices.dataSync !== 'function') {
    throw new ShapeMismatchError(`indices must be a tf.Tensor, received ${String(indices)}.`);
  }
  if (!INDEX_DTYPES.includes(indices.dtype)) {
    throw new ShapeMismatchError(`indices must be a tf.Tensor of dtype ${INDEX_DTYPES.join(', ')}, received dtype ${indices.dtype}.`);
  }
  const data = indices.dataSync() as Int32Array | Float32Array | Uint8Array;
  return toIndexTensor({ data, shape: indices.shape }, inputDim);
}
