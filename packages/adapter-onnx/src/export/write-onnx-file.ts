import { randomBytes } from 'node:crypto';
import { lstat, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Embedding } from '@embedding-layer/core';
import { buildEmbeddingModel, DEFAULT_EXTERNAL_DATA_THRESHOLD, tableBytes } from '@embedding-layer/onnx-model';
import onnxProto from 'onnx-proto';
import { layerIndexType, type ToOnnxOptions } from './to-onnx.js';
import { writeFileAtomic } from './write-file-atomic.js';

const { onnx } = onnxProto;

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
  /** The external data file (`<modelPath>.data`, or `<modelPath>.<random>.data` when that name was taken), or null when the table is inside the model. */
  externalDataPath: string | null;
}

/**
 * Writes a layer (on any backend) as a `.onnx` file that any ONNX Runtime loads, atomically
 * (temporary file, fsync, rename). A table over the threshold (default: just under 2 GiB) is
 * written as external data beside the model, which references it by its relative name
 * (`<name>.onnx.data`, or `<name>.onnx.<random>.data` when a file of that name exists): keep
 * the two files together. The pair is replaced as a whole: the data first, under a new name,
 * then the model; a failure leaves the old pair, and a success removes the old data file.
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
  const build = (location: string) =>
    buildEmbeddingModel(layer.config, weights, {
      ...rest,
      indexType,
      table: 'initializer',
      externalData: { location, threshold: externalDataThreshold },
    });
  if (!(weights.byteLength > externalDataThreshold)) {
    const model = build(`${basename(path)}.data`);
    const old = await externalDataOf(path);
    await writeFileAtomic(path, model);
    await removeUnused(path, old, null);
    return { modelPath: path, externalDataPath: null };
  }
  // The pair is replaced as a whole: the data goes to a name no file has (the usual
  // `<model>.data`, or `<model>.<random>.data` when that exists, as after an earlier export),
  // then the model that names it is renamed into place; only then is the old data removed.
  // A failure before that leaves the old pair as it was.
  let location = `${basename(path)}.data`;
  while (await exists(join(dirname(path), location))) location = `${basename(path)}.${randomBytes(4).toString('hex')}.data`;
  const model = build(location);
  const old = await externalDataOf(path);
  const externalDataPath = join(dirname(path), location);
  await writeFileAtomic(externalDataPath, tableBytes(weights));
  try {
    await writeFileAtomic(path, model);
  } catch (error) {
    await rm(externalDataPath, { force: true });
    throw error;
  }
  await removeUnused(path, old, location);
  return { modelPath: path, externalDataPath };
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** The external data files (plain names ending in `.data`) that an existing model at `path` names; none if there is no readable model. */
async function externalDataOf(path: string): Promise<string[]> {
  try {
    if ((await stat(path)).size > 64 * 1024 * 1024) return [];
    const model = onnx.ModelProto.decode(await readFile(path));
    return (model.graph?.initializer ?? [])
      .flatMap((t) => (t.externalData ?? []).filter((e) => e.key === 'location').map((e) => e.value ?? ''))
      .filter((name) => name.endsWith('.data') && !/[\\/]/.test(name) && name !== '.' && name !== '..');
  } catch {
    return [];
  }
}

/** Removes the old model's external data files that the new one does not use. */
async function removeUnused(path: string, old: readonly string[], kept: string | null): Promise<void> {
  await Promise.all(
    old.filter((name) => name !== kept).map((name) => rm(join(dirname(path), name), { force: true }).catch(() => undefined)),
  );
}
