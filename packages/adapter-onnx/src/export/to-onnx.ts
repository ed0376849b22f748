import type { Embedding } from '@embedding-layer/core';
import { type BuildEmbeddingModelOptions, buildEmbeddingModel } from '../model/build-embedding-model.js';
import { onnxTableOf } from '../onnx-backend.js';

/** Options of {@link toOnnx}: the model builder's, except `table` (an exported model always holds its table). */
export type ToOnnxOptions = Omit<BuildEmbeddingModelOptions, 'table'>;

/** The layer's table without a copy when it lives on an ONNX backend, else `getWeights()` (one copy). */
export function currentWeights(layer: Embedding): Float32Array {
  return onnxTableOf(layer)?.weights ?? layer.getWeights()[0]!;
}

/**
 * The ONNX model of any layer, on any backend, from `layer.config` and its current weights:
 * the bytes of a `.onnx` file (see `buildEmbeddingModel` for the graph). The index type
 * defaults to the layer's ONNX backend's, else int32.
 *
 * Tables over 2 GiB do not fit in one protobuf: use {@link writeOnnxFile}, which stores
 * them as external data.
 *
 * @example
 * ```ts
 * const bytes = toOnnx(layer);   // a layer on createJsBackend(), createTfjsBackend(), ...
 * ```
 * @throws DisposedError for a disposed layer.
 */
export function toOnnx(layer: Embedding, options: ToOnnxOptions = {}): Uint8Array {
  const weights = currentWeights(layer);
  const indexType = options.indexType ?? onnxTableOf(layer)?.indexType ?? 'int32';
  return buildEmbeddingModel(layer.config, weights, { ...options, indexType, table: 'initializer' });
}
