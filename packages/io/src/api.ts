import {
  Embedding,
  type EmbeddingBackend,
  type EmbeddingConfig,
  type InputLength,
  InvalidWeightsError,
  type ResolvedEmbeddingConfig,
  resolveConfig,
} from '@embedding-layer/core';
import { detectFormat, formatForWriting } from './detect.js';
import { badFile } from './errors.js';
import { arrayRows, type LazyTables, type ReadOptions, type RowReader } from './formats/common.js';
import { openKerasH5Tables, readKerasH5, type WriteKerasH5Options, writeKerasH5Rows } from './formats/keras-h5.js';
import { openKeras3Tables, readKeras3, type WriteKeras3Options, writeKeras3Rows } from './formats/keras-v3.js';
import { openNpyTables, readNpy, type WriteNpyOptions, writeNpyRows } from './formats/npy.js';
import { openOnnxTables, readOnnx, type WriteOnnxOptions, writeOnnxRows } from './formats/onnx.js';
import { openSafetensorsTables, readSafetensors, type WriteSafetensorsOptions, writeSafetensorsRows } from './formats/safetensors.js';
import { openTfjsTables, readTfjs, type WriteTfjsOptions, writeTfjs, writeTfjsRows } from './formats/tfjs.js';
import type { EmbeddingData, EmbeddingRecord, ModelFormat } from './types.js';

/** Options of {@link readEmbeddings}. */
export interface ReadEmbeddingsOptions extends ReadOptions {
  /** The file's format. Default: detected from its content and extension. */
  readonly format?: ModelFormat;
}

/** Options of {@link readEmbedding}: {@link ReadEmbeddingsOptions} plus which layer. */
export interface ReadEmbeddingOptions extends ReadEmbeddingsOptions {
  /** Name of the Embedding layer to read. Required when the file holds more than one. */
  readonly layer?: string;
}

/** Options of {@link loadEmbedding}. */
export interface LoadEmbeddingOptions extends ReadEmbeddingOptions {
  /** The backend that will hold the table, e.g. `createJsBackend()`. */
  readonly backend: EmbeddingBackend;
}

const READERS: Record<ModelFormat, (path: string, options: ReadOptions) => Promise<EmbeddingRecord[]>> = {
  'keras-h5': readKerasH5,
  keras: readKeras3,
  tfjs: readTfjs,
  onnx: readOnnx,
  npy: readNpy,
  safetensors: readSafetensors,
};

/** Formats whose tables `loadEmbedding` streams (null: this file cannot be, e.g. a Fortran-order .npy). */
const LAZY_OPENERS: Partial<Record<ModelFormat, (path: string, options: ReadOptions) => Promise<LazyTables | null>>> = {
  safetensors: openSafetensorsTables,
  npy: openNpyTables,
  tfjs: openTfjsTables,
  onnx: openOnnxTables,
  'keras-h5': openKerasH5Tables,
  keras: openKeras3Tables,
};

/**
 * Reads every Embedding layer a model file holds (name, config, weights), in the order the
 * model lists them. Throws `BadFileError` (code `BAD_FILE`) naming the file for an unknown,
 * truncated or damaged file, or one without an Embedding.
 */
export async function readEmbeddings(path: string, options: ReadEmbeddingsOptions = {}): Promise<EmbeddingRecord[]> {
  const format = options.format ?? (await detectFormat(path));
  return READERS[format](path, options);
}

/** Reads one Embedding layer: `options.layer`, or the only one. */
export async function readEmbedding(path: string, options: ReadEmbeddingOptions = {}): Promise<EmbeddingRecord> {
  const records = await readEmbeddings(path, options);
  return pickLayer(path, records, options.layer);
}

function describeTables(records: readonly Pick<EmbeddingRecord, 'name' | 'location' | 'inputDim' | 'outputDim'>[]): string {
  const shown = records.slice(0, 20).map((r) => `${JSON.stringify(r.name)} [${r.inputDim}, ${r.outputDim}] at ${r.location}`);
  return shown.join(', ') + (records.length > shown.length ? `, and ${records.length - shown.length} more` : '');
}

/**
 * @internal The record `layer` names (a layer name, or a location as `inspect` shows it), or the
 * only record. Several records without a choice, or a name that matches none or several, is a
 * BadFileError listing every table with its shape and location.
 */
export function pickLayer<R extends Pick<EmbeddingRecord, 'name' | 'location' | 'inputDim' | 'outputDim'>>(
  path: string,
  records: readonly R[],
  layer?: string,
): R {
  if (layer !== undefined) {
    const byName = records.filter((r) => r.name === layer);
    const hits = byName.length > 0 ? byName : records.filter((r) => r.location === layer);
    if (hits.length === 1) return hits[0]!;
    if (hits.length === 0)
      throw badFile(path, `no Embedding layer named ${JSON.stringify(layer)}; the file holds: ${describeTables(records)}.`);
    throw badFile(
      path,
      `${hits.length} Embedding layers are named ${JSON.stringify(layer)}: ${describeTables(hits)}; pick one by its location (the layer option, or --layer on the command line).`,
    );
  }
  if (records.length !== 1)
    throw badFile(
      path,
      `the file holds ${records.length} Embedding layers (${describeTables(records)}); pass the layer name: the layer option (--layer NAME on the command line).`,
    );
  return records[0]!;
}

/**
 * Reads one Embedding layer from a model file into a layer on any backend:
 * `Embedding.create(record.config, { backend, weights: [record.weights] })`.
 */
export async function loadEmbedding(path: string, options: LoadEmbeddingOptions): Promise<Embedding> {
  const format = options.format ?? (await detectFormat(path));
  // Every format streams into the backend a range of rows at a time where the file allows (its
  // opener returns null otherwise: a Fortran-order .npy, a deflated or quantized .keras): the
  // table is in memory once (the backend's), not also as a decoded copy and the file's bytes.
  const lazy = (await LAZY_OPENERS[format]?.(path, options)) ?? null;
  if (lazy) {
    try {
      const record = pickLayer(path, lazy.records, options.layer);
      return await Embedding.create(record.config, { backend: options.backend, weights: record.source });
    } finally {
      await lazy.close();
    }
  }
  const record = await readEmbedding(path, { ...options, format });
  return Embedding.create(record.config, { backend: options.backend, weights: [record.weights] });
}

/** Options of {@link saveEmbedding}: the format and the format writers' options. */
export interface SaveEmbeddingOptions extends WriteKerasH5Options, WriteNpyOptions, WriteTfjsOptions, WriteOnnxOptions {
  /** Format to write. Default: from the extension. */
  readonly format?: ModelFormat;
  /** Element type for .npy (`float32`, `float16`, `float64`). Default float32. */
  readonly npyDtype?: WriteNpyOptions['dtype'];
  /** Element type for safetensors (`F32`, `F16`, `BF16`). Default F32. */
  readonly safetensorsDtype?: WriteSafetensorsOptions['dtype'];
  /** `'int8'`: write a .keras file in Keras 3's int8 layout (lossy; `WriteKeras3Options` in `@embedding-layer/io/formats`). */
  readonly kerasQuantize?: WriteKeras3Options['quantize'];
}

/** What {@link saveEmbedding} accepts: a layer, a record read from a file, or a config and its weights. */
export type EmbeddingSource = Embedding | EmbeddingRecord | EmbeddingData | { config: EmbeddingConfig; weights: Float32Array };

/** @internal The resolved config and float32 weights of any {@link EmbeddingSource}. */
export async function toEmbeddingData(source: EmbeddingSource): Promise<EmbeddingData> {
  // A layer with LoRA saves its merged table, as Keras 3's save_own_variables does.
  if (source instanceof Embedding) return { config: source.config, weights: await source.readMergedRows(0, source.config.inputDim) };
  const config = resolveConfig(source.config as EmbeddingConfig);
  const weights = source.weights;
  if (!(weights instanceof Float32Array) || weights.length !== config.inputDim * config.outputDim)
    throw new InvalidWeightsError(
      `saveEmbedding expected weights as a Float32Array of ${config.inputDim * config.outputDim} values (${config.inputDim} x ${config.outputDim}), received ${
        weights instanceof Float32Array ? `${weights.length} values` : typeof weights
      }.`,
    );
  return { config, weights };
}

/**
 * Writes one Embedding layer to `path` in `options.format` (default: from the extension),
 * atomically: a temp file beside the target, then a rename, so a failure leaves nothing behind.
 */
export async function saveEmbedding(path: string, source: EmbeddingSource, options: SaveEmbeddingOptions = {}): Promise<void> {
  const format = formatForWriting(path, options.format);
  // TF.js's uint8/uint16 quantization needs the table's range first, so it is written whole.
  if (format === 'tfjs' && isAffine(options.quantize)) return writeTfjs(path, await toEmbeddingData(source), options);
  // Every other format is written a chunk of rows at a time: from a layer, straight out of its
  // backend (no whole copy of the table, nor of the file, in memory).
  const { config, rows } = await rowsOf(source);
  switch (format) {
    case 'keras-h5':
      return writeKerasH5Rows(path, config, rows, options);
    case 'keras':
      return writeKeras3Rows(path, config, rows, options.kerasQuantize !== undefined ? { quantize: options.kerasQuantize } : {});
    case 'tfjs':
      return writeTfjsRows(path, config, rows, options);
    case 'onnx':
      return writeOnnxRows(path, config, rows, options);
    case 'npy':
      return writeNpyRows(path, config.inputDim, config.outputDim, rows, { dtype: options.npyDtype ?? options.dtype });
    case 'safetensors':
      return writeSafetensorsRows(path, config, rows, { dtype: options.safetensorsDtype });
  }
}

function isAffine(quantize: SaveEmbeddingOptions['quantize']): boolean {
  return quantize === 'uint8' || quantize === 'uint16';
}

/** The config of any {@link EmbeddingSource} and a reader of its rows: a layer's backend (merged LoRA included), or checked weights in memory. */
async function rowsOf(source: EmbeddingSource): Promise<{ config: ResolvedEmbeddingConfig; rows: RowReader }> {
  if (source instanceof Embedding) return { config: source.config, rows: (start, count) => source.readMergedRows(start, count) };
  const data = await toEmbeddingData(source);
  return { config: data.config, rows: arrayRows(data.weights, data.config.outputDim) };
}

/** One line of {@link inspectModel}: what `embedding-layer inspect` prints for a layer. */
export interface EmbeddingSummary {
  readonly name: string;
  readonly inputDim: number;
  readonly outputDim: number;
  /**
   * `input_length`: a fixed length (a list for several axes), null for sequences of any length;
   * absent when unknown (the file holds no layer config). For Keras 3 files, which have no
   * `input_length`, the fixed length of the layer's input shape (InputLayer / build_config).
   */
  readonly inputLength?: InputLength;
  /** `mask_zero`, or null when unknown: the file holds no layer config (weights-only .h5, .npy, ONNX...) and the caller gave none. */
  readonly maskZero: boolean | null;
  /** Whether the file holds the layer's config (false: the dims come from the matrix, the rest is unknown). */
  readonly hasConfig: boolean;
  /** Element type in the file (`float32`, `float16`, `uint8` for quantized TF.js weights...). */
  readonly dtype: string;
  /** Bytes the matrix occupies in the file. */
  readonly bytes: number;
  readonly format: ModelFormat;
  readonly location: string;
}

/** Lists the Embedding tables of a model file (name, dims, input_length, mask_zero, stored dtype and size, location). */
export async function inspectModel(path: string, options: ReadEmbeddingOptions = {}): Promise<EmbeddingSummary[]> {
  const all = await readEmbeddings(path, options);
  const records = options.layer !== undefined ? [pickLayer(path, all, options.layer)] : all;
  return records.map((r) => {
    const hasConfig = r.sourceConfig !== null;
    const given = options.config ?? {};
    const inputLength = r.config.inputLength !== undefined ? r.config.inputLength : hasConfig ? null : undefined;
    return {
      name: r.name,
      inputDim: r.inputDim,
      outputDim: r.outputDim,
      ...(inputLength !== undefined ? { inputLength } : {}),
      maskZero: r.config.maskZero ?? (hasConfig || 'maskZero' in given ? false : null),
      hasConfig,
      dtype: r.storedDtype,
      bytes: r.storedBytes,
      format: r.format,
      location: r.location,
    };
  });
}

/** Options of {@link convertEmbedding}. */
export interface ConvertEmbeddingOptions extends SaveEmbeddingOptions {
  /** The layer to convert, when the input holds several. */
  readonly layer?: string;
  /** Input format. Default: detected. */
  readonly inputFormat?: ModelFormat;
  /** Config values for inputs without a config (weights-only .h5, .npy, safetensors, ONNX). */
  readonly config?: ReadOptions['config'];
  /** Progress of reading, in bytes. */
  readonly onProgress?: ReadOptions['onProgress'];
}

/** What {@link convertEmbedding} did. */
export interface ConvertResult {
  readonly from: ModelFormat;
  readonly to: ModelFormat;
  readonly record: EmbeddingRecord;
}

/**
 * Reads one Embedding layer from `input` and writes it to `output` (format from
 * `options.format` or the extension). The output format is checked and the input fully read and
 * validated before anything is written; the write is atomic.
 */
export async function convertEmbedding(input: string, output: string, options: ConvertEmbeddingOptions = {}): Promise<ConvertResult> {
  const to = formatForWriting(output, options.format);
  const from = options.inputFormat ?? (await detectFormat(input));
  const record = await readEmbedding(input, {
    format: from,
    ...(options.layer !== undefined ? { layer: options.layer } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
  await saveEmbedding(output, record, { ...options, format: to });
  return { from, to, record };
}
