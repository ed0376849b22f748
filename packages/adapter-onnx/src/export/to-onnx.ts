import type { Embedding } from '@embedding-layer/core';
import { type BuildEmbeddingModelOptions, buildEmbeddingModel, type OnnxIndexType } from '@embedding-layer/onnx-model';

/** Options of {@link toOnnx}: the model builder's, except `table` (an exported model always holds its table). */
export type ToOnnxOptions = Omit<BuildEmbeddingModelOptions, 'table'>;

/** The index type of a layer's ONNX backend (from `layer.describe()`), else int32. */
export function layerIndexType(layer: Embedding): OnnxIndexType {
  const described = layer.describe().indexType;
  return described === 'int64' ? 'int64' : 'int32';
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
 * const bytes = await toOnnx(layer);   // a layer on createJsBackend(), createTfjsBackend(), ...
 * ```
 * @throws DisposedError for a disposed layer.
 */
export async function toOnnx(layer: Embedding, options: ToOnnxOptions = {}): Promise<Uint8Array> {
  const indexType = options.indexType ?? layerIndexType(layer);
  const weights = (await layer.getWeights())[0]!;
  return buildEmbeddingModel(layer.config, weights, { ...options, indexType, table: 'initializer' });
}
