import { basename, dirname, join } from 'node:path';
import type { Embedding } from '@embedding-layer/core';
import { buildEmbeddingModel } from '../model/build-embedding-model.js';
import { tableBytes } from '../model/little-endian.js';
import { DEFAULT_EXTERNAL_DATA_THRESHOLD } from '../model/versions.js';
import { layerIndexType, type ToOnnxOptions } from './to-onnx.js';
import { writeFileAtomic } from './write-file-atomic.js';

/** Options of {@link writeOnnxFile}. */
export interface WriteOnnxFileOptions extends Omit<ToOnnxOptions, 'externalData'> {
  /**
   * Tables larger than this many bytes go to a `<file>.data` file beside the model (ONNX
   * external data). Default {@link DEFAULT_EXTERNAL_DATA_THRESHOLD}, just under protobuf's
   * 2 GiB limit; 0 always writes external data.
   */
  externalDataThreshold?: number;
}

/** What {@link writeOnnxFile} wrote. */
export interface WrittenOnnxFile {
  /** The .onnx file. */
  modelPath: string;
  /** The external data file (`<modelPath>.data`), or null when the table is inside the model. */
  externalDataPath: string | null;
}

/**
 * Writes a layer (on any backend) as a `.onnx` file that any ONNX Runtime loads, atomically
 * (temporary file, fsync, rename). A table over the threshold (default: just under 2 GiB) is
 * written first, atomically too, as external data `<name>.onnx.data` beside the model, which
 * references it by that relative name: keep the two files together.
 *
 * @example
 * ```ts
 * await writeOnnxFile(layer, 'embedding.onnx');
 * const session = await ort.InferenceSession.create('embedding.onnx');
 * ```
 */
export async function writeOnnxFile(layer: Embedding, path: string, options: WriteOnnxFileOptions = {}): Promise<WrittenOnnxFile> {
  const { externalDataThreshold = DEFAULT_EXTERNAL_DATA_THRESHOLD, ...rest } = options;
  const indexType = rest.indexType ?? layerIndexType(layer);
  const weights = (await layer.getWeights())[0]!;
  const location = `${basename(path)}.data`;
  const model = buildEmbeddingModel(layer.config, weights, {
    ...rest,
    indexType,
    table: 'initializer',
    externalData: { location, threshold: externalDataThreshold },
  });
  let externalDataPath: string | null = null;
  if (weights.byteLength > externalDataThreshold) {
    externalDataPath = join(dirname(path), location);
    await writeFileAtomic(externalDataPath, tableBytes(weights));
  }
  await writeFileAtomic(path, model);
  return { modelPath: path, externalDataPath };
}
