import type { IndexTensor } from '@embedding-layer/core';
import { checkNativeIndices } from '@embedding-layer/core/backend';
import type * as tfjs from '@tensorflow/tfjs';
import { TFJS_NATIVE } from './tfjs-backend.js';

/**
 * Validates a `tf.Tensor` of indices with core's rules, as `Embedding.lookupNative` does on a
 * TF.js layer (`checkNativeIndices`: the same accepted dtypes, the same errors): every value an
 * integer in [0, inputDim), else `InvalidIndexError` naming the value and its position. Reads
 * the tensor's data (synchronously: on WebGL this waits for the GPU); never copies a table.
 */
export function checkIndexTensor(indices: tfjs.Tensor, inputDim: number): IndexTensor {
  return checkNativeIndices(TFJS_NATIVE, indices, inputDim);
}
