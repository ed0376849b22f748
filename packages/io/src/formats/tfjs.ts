import { basename, extname } from 'node:path';
import type { ResolvedEmbeddingConfig } from '@embedding-layer/core';
import { findEmbeddingConfigs, readLayerConfig, toTfjsLayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord, StoredDtype } from '../types.js';
import { decodeHalf, encodeHalf, float32Bytes, ownedFloat32 } from '../util/float.js';
import { fileSize, ReadRanges, readRange, readWhole, replaceFileSet, resolveInside, writeBytes } from '../util/fs.js';
import { parseFileJson, showValue } from '../util/json.js';
import { checkFiniteForQuantizing, checkLayerNameForFile } from '../util/writable.js';
import {
  arrayRows,
  bytesRowSource,
  type FoundMatrix,
  type LazyTables,
  makeLazyRecord,
  makeRecord,
  type ReadOptions,
  type RowReader,
} from './common.js';

/** One entry of a TF.js `weightsManifest[].weights`. */
export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number; original_dtype?: string };
}

/** One group of a TF.js `weightsManifest`: shard file names and the weights they hold, back to back. */
export interface TfjsManifestGroup {
  paths: string[];
  weights: TfjsWeightEntry[];
}

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

function entryBytes(file: string, entry: TfjsWeightEntry): number {
  const dtype = entry.quantization?.dtype ?? entry.dtype;
  const size = DTYPE_BYTES[dtype];
  if (size === undefined)
    throw badFile(
      file,
      `weight ${JSON.stringify(entry.name)} has dtype ${JSON.stringify(dtype)}, whose size is unknown; cannot locate the weights after it.`,
    );
  const bytes = entry.shape.reduce((a, b) => a * b, 1) * size;
  if (!Number.isSafeInteger(bytes))
    throw badFile(file, `weight ${JSON.stringify(entry.name)} claims shape ${JSON.stringify(entry.shape)}, too large for any file.`);
  return bytes;
}

/** Checks a weightsManifest's structure (groups of shard paths and {name, shape, dtype} entries) before it is used. */
function checkManifest(file: string, manifest: unknown[]): TfjsManifestGroup[] {
  const seen = new Map<string, number>();
  manifest.forEach((group, g) => {
    const { paths, weights } = (typeof group === 'object' && group !== null ? group : {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(weights))
      throw badFile(file, `weightsManifest[${g}]: expected { paths: string[], weights: [...] }, found ${showValue(group)}.`);
    for (const p of paths as string[]) {
      if (p.length === 0 || /^([\\/]|[A-Za-z]:)/.test(p) || p.split(/[\\/]/).includes('..'))
        throw badFile(file, `weightsManifest[${g}]: shard path ${showValue(p)} must be a relative path inside the model's directory.`);
      const key = p.replace(/\\/g, '/').replace(/(^|\/)\.\//g, '$1');
      const before = seen.get(key);
      if (before !== undefined)
        throw badFile(
          file,
          `weightsManifest[${g}]: shard ${showValue(p)} is already listed${before === g ? ' in this group' : ` in weightsManifest[${before}]`}; each shard holds its own bytes and may be listed once.`,
        );
      seen.set(key, g);
    }
    for (const entry of weights as unknown[]) {
      const { name, shape, dtype } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      if (
        typeof name !== 'string' ||
        typeof dtype !== 'string' ||
        !Array.isArray(shape) ||
        !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
      )
        throw badFile(
          file,
          `weightsManifest[${g}]: expected weight entries { name, shape: non-negative integers, dtype }, found ${showValue(entry)}.`,
        );
      const q = (entry as { quantization?: unknown }).quantization;
      if (q !== undefined && (typeof q !== 'object' || q === null))
        throw badFile(file, `weightsManifest[${g}]: weight ${showValue(name)} has quantization ${showValue(q)}; expected an object.`);
    }
  });
  return manifest as TfjsManifestGroup[];
}

/** Reads `length` bytes at `offset` of the concatenation of `shards`. */
async function readAcrossShards(
  file: string,
  names: readonly string[],
  offset: number,
  length: number,
  ranges: ReadRanges,
  label: string,
  onProgress?: (done: number, total: number) => void,
): Promise<Uint8Array> {
  // Each shard must be a regular file inside the model's real folder; the manifest's sizes are
  // checked against the shards before anything is allocated.
  const shards: string[] = [];
  const sizes: number[] = [];
  for (const name of names) {
    const real = await resolveInside(file, name, file, 'weight shard');
    shards.push(real);
    sizes.push(
      await fileSize(real, `${file} (weight shard ${name})`).catch((error: unknown) => {
        throw badFile(file, `weight shard ${showValue(name)} cannot be read (${(error as Error)?.message ?? String(error)})`, error);
      }),
    );
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(offset + length) || offset + length > total)
    throw badFile(
      file,
      `truncated weights: the shards (${names.join(', ').slice(0, 300)}) hold ${total} bytes, the manifest needs ${offset + length}.`,
    );
  const out = new Uint8Array(length);
  let start = 0;
  let done = 0;
  for (const [i, shard] of shards.entries()) {
    const size = sizes[i]!;
    const end = start + size;
    const from = Math.max(offset + done, start);
    const to = Math.min(offset + length, end);
    if (from < to) {
      ranges.claim(shard, from - start, to - start, label);
      out.set(await readRange(shard, from - start, to - from), from - offset);
      done += to - from;
      onProgress?.(done, length);
    }
    start = end;
    if (done === length) break;
  }
  if (done < length)
    throw badFile(
      file,
      `truncated weights: the shards (${names.join(', ').slice(0, 300)}) hold ${start} bytes, the manifest needs ${offset + length}.`,
    );
  return out;
}

/** Checks a quantized entry's parameters before any of its bytes are read. */
function checkQuantization(file: string, entry: TfjsWeightEntry): void {
  const q = entry.quantization;
  if ((q?.dtype === 'uint8' || q?.dtype === 'uint16') && (typeof q.scale !== 'number' || typeof q.min !== 'number'))
    throw badFile(file, `weight ${JSON.stringify(entry.name)} is quantized to ${q.dtype} but the manifest gives no numeric scale and min.`);
}

function decodeEntry(
  file: string,
  entry: TfjsWeightEntry,
  bytes: Uint8Array,
  count: number,
): { weights: Float32Array; stored: StoredDtype } {
  const q = entry.quantization;
  if (!q) {
    if (entry.dtype !== 'float32')
      throw badFile(file, `weight ${JSON.stringify(entry.name)} has dtype ${JSON.stringify(entry.dtype)}; expected float32.`);
    // The bytes were read for this (readAcrossShards): a view of them, no second copy.
    return { weights: ownedFloat32(bytes, count), stored: 'float32' };
  }
  if (q.dtype === 'float16') return { weights: decodeHalf(bytes, count), stored: 'float16' };
  if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    if (typeof q.scale !== 'number' || typeof q.min !== 'number')
      throw badFile(
        file,
        `weight ${JSON.stringify(entry.name)} is quantized to ${q.dtype} but the manifest gives no numeric scale and min.`,
      );
    const values = q.dtype === 'uint8' ? bytes : new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    const out = new Float32Array(count);
    // As tf.io.decodeWeights: value = q * scale + min (in double, then rounded to float32).
    for (let i = 0; i < count; i++) out[i] = values[i]! * q.scale + q.min;
    return { weights: out, stored: q.dtype };
  }
  throw badFile(
    file,
    `weight ${JSON.stringify(entry.name)} has unknown quantization dtype ${JSON.stringify((q as { dtype: unknown }).dtype)}; expected uint8, uint16 or float16.`,
  );
}

/**
 * Reads every Embedding layer of a TF.js layers model (`model.json` + shards): configs from
 * `modelTopology` (as the converter writes it, with `model_config`, or as `model.save()` does),
 * weights `<layer>/embeddings` located by summing the sizes of the manifest entries before it
 * (so it may start mid-shard and span shards), dequantized from uint8/uint16 (`q * scale +
 * min`) or float16 as TF.js does. Only the embedding's bytes are read.
 */
export async function readTfjs(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const { tables, ranges } = await tfjsTables(path);
  const records: EmbeddingRecord[] = [];
  for (const t of tables) {
    const { entry, group, offset, found } = t;
    const bytes = await readAcrossShards(
      path,
      group.paths,
      offset,
      found.storedBytes,
      ranges,
      `weight ${showValue(entry.name)}`,
      options.onProgress,
    );
    const { weights } = decodeEntry(path, entry, bytes, found.rows * found.cols);
    records.push(makeRecord(path, 'tfjs', { ...found, weights }, options));
  }
  return records;
}

/**
 * @internal The tables of a TF.js layers model, still in their shards: each record's `source`
 * reads its rows' bytes across the shards when asked (each range once per load, each shard
 * checked as for {@link readTfjs}), decoded as TF.js decodes them (every TF.js quantization is
 * per value, so any row range decodes on its own).
 */
export async function openTfjsTables(path: string, options: ReadOptions = {}): Promise<LazyTables> {
  const { tables, ranges } = await tfjsTables(path);
  const records = tables.map(({ entry, group, offset, found }) => {
    const element = DTYPE_BYTES[entry.quantization?.dtype ?? entry.dtype]!;
    const rowBytes = found.cols * element;
    const read = (at: number, length: number) =>
      readAcrossShards(
        path,
        group.paths,
        offset + at,
        length,
        ranges,
        `weight ${showValue(entry.name)} rows [${at / rowBytes}, ${(at + length) / rowBytes})`,
      );
    const decode = (bytes: Uint8Array, count: number) => decodeEntry(path, entry, bytes, count).weights;
    return makeLazyRecord(path, 'tfjs', found, bytesRowSource(found.rows, found.cols, element, read, decode, options.onProgress), options);
  });
  return { records, close: async () => {} };
}

/** Every Embedding of a model.json with where its weight lies in the shards, checked, nothing read from the shards. */
async function tfjsTables(path: string): Promise<{
  tables: { entry: TfjsWeightEntry; group: TfjsManifestGroup; offset: number; found: Omit<FoundMatrix, 'weights'> }[];
  ranges: ReadRanges;
}> {
  const text = new TextDecoder().decode(await readWhole(path));
  const json = parseFileJson(text, path, 'not a TF.js model.json: the file') as {
    format?: unknown;
    modelTopology?: unknown;
    weightsManifest?: unknown;
  };
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object' || json.modelTopology === null)
    throw badFile(path, 'not a TF.js layers model: expected a JSON object with modelTopology and weightsManifest.');
  if (!Array.isArray(json.weightsManifest)) throw badFile(path, 'not a TF.js layers model: weightsManifest is missing or not a list.');
  const topology = json.modelTopology as Record<string, unknown>;
  const modelConfig = topology.model_config ?? topology;
  const layers = findEmbeddingConfigs(modelConfig);
  if (layers.length === 0)
    throw badFile(
      path,
      `the model holds no Embedding layer (modelTopology has no layer with class_name "Embedding"${json.format === 'graph-model' ? '; this is a graph model' : ''}).`,
    );
  const groups = checkManifest(path, json.weightsManifest);
  const tables: { entry: TfjsWeightEntry; group: TfjsManifestGroup; offset: number; found: Omit<FoundMatrix, 'weights'> }[] = [];
  const names = new Set<string>();
  for (const layer of layers) {
    const sourceConfig = layer.config as Record<string, unknown>;
    const name = String(sourceConfig.name);
    if (names.has(name))
      throw badFile(path, `modelTopology lists the Embedding ${showValue(name)} more than once; layer names are unique.`);
    names.add(name);
    const { config, notes } = readLayerConfig(layer, path);
    let found: { group: TfjsManifestGroup; entry: TfjsWeightEntry; offset: number } | undefined;
    for (const group of groups) {
      let offset = 0;
      for (const entry of group.weights ?? []) {
        if (entry.name === `${name}/embeddings` || entry.name.endsWith(`/${name}/embeddings`)) {
          found = { group, entry, offset };
          break;
        }
        offset += entryBytes(path, entry);
      }
      if (found) break;
    }
    if (!found) throw badFile(path, `modelTopology lists Embedding "${name}" but weightsManifest has no weight "${name}/embeddings".`);
    const { group, entry, offset } = found;
    if (!Array.isArray(entry.shape) || entry.shape.length !== 2)
      throw badFile(
        path,
        `weight ${entry.name}: expected a 2-D (input_dim, output_dim) matrix, found shape ${JSON.stringify(entry.shape)}.`,
      );
    if (!entry.quantization && entry.dtype !== 'float32')
      throw badFile(path, `weight ${JSON.stringify(entry.name)} has dtype ${JSON.stringify(entry.dtype)}; expected float32.`);
    checkQuantization(path, entry);
    const [rows, cols] = entry.shape as [number, number];
    const storedDtype: StoredDtype = entry.quantization?.dtype ?? 'float32';
    const location = `${entry.name} (${group.paths.join(', ')} at byte ${offset})`;
    const storedBytes = entryBytes(path, entry);
    tables.push({
      entry,
      group,
      offset,
      found: { name, rows, cols, location, storedDtype, storedBytes, fileConfig: config, sourceConfig, notes },
    });
  }
  return { tables, ranges: new ReadRanges(path) };
}

/** The shard names an existing model.json at `path` lists (so a save can remove those it no longer uses); none if it is not one. */
async function oldShards(path: string): Promise<string[]> {
  if ((await fileSize(path).catch(() => Number.POSITIVE_INFINITY)) > 64 * 1024 * 1024) return [];
  const json = parseFileJson(new TextDecoder().decode(await readWhole(path)), path, 'model.json') as { weightsManifest?: unknown };
  if (!Array.isArray(json?.weightsManifest)) return [];
  return json.weightsManifest.flatMap((g: { paths?: unknown }) =>
    Array.isArray(g?.paths) ? g.paths.filter((p): p is string => typeof p === 'string' && p.endsWith('.bin')) : [],
  );
}

/** TF.js quantization of the written weights. */
export type TfjsQuantization = 'uint8' | 'uint16' | 'float16';

/** Options of {@link writeTfjs}. */
export interface WriteTfjsOptions {
  /** Largest shard in bytes. Default 4 MiB, the TF.js converter's default. */
  readonly shardBytes?: number;
  /** Store quantized weights (lossy), as `tensorflowjs_converter --quantize_*` does. Default: float32. */
  readonly quantize?: TfjsQuantization;
}

/** @internal Affine quantization as the TF.js converter does it (range nudged so that 0 is exact). */
export function quantizeAffine(values: Float32Array, dtype: 'uint8' | 'uint16'): { data: Uint8Array; scale: number; min: number } {
  const levels = dtype === 'uint8' ? 255 : 65535;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (values.length === 0) lo = hi = 0;
  let scale: number;
  let min: number;
  if (hi === lo) {
    scale = 1;
    min = lo;
  } else {
    scale = (hi - lo) / levels;
    const zeroPoint = Math.min(levels, Math.max(0, Math.round(-lo / scale)));
    min = -zeroPoint * scale;
  }
  const out = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(levels, Math.max(0, Math.round((values[i]! - min) / scale)));
  return { data: new Uint8Array(out.buffer), scale, min };
}

/** The model.json content of a TF.js layers model holding one Embedding (a Sequential, as `tensorflowjs_converter` writes it). */
export function tfjsModelJson(data: Pick<EmbeddingData, 'config'>, manifest: TfjsManifestGroup[]): Record<string, unknown> {
  return {
    format: 'layers-model',
    generatedBy: '@embedding-layer/io',
    convertedBy: null,
    modelTopology: {
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
      model_config: {
        class_name: 'Sequential',
        config: { name: 'sequential', layers: [{ class_name: 'Embedding', config: toTfjsLayerConfig(data.config) }] },
      },
    },
    weightsManifest: manifest,
  };
}

/**
 * Writes a TF.js layers model, atomically: shards `group1-shard<i>of<n>.bin` (prefixed with the
 * file's stem unless it is named model.json) beside `path`, then `path` (model.json) last.
 * `tf.loadLayersModel` loads it.
 */
export async function writeTfjs(path: string, data: EmbeddingData, options: WriteTfjsOptions = {}): Promise<void> {
  if (options.quantize === 'uint8' || options.quantize === 'uint16') {
    // Affine quantization needs the whole table's range first: written from the table in memory.
    const { inputDim, outputDim, name } = data.config;
    const shardBytes = checkShardBytes(path, options.shardBytes);
    checkLayerNameForFile(name, path);
    checkFiniteForQuantizing(data.weights, outputDim, path, `TF.js ${options.quantize} quantization`);
    const q = quantizeAffine(data.weights, options.quantize);
    const entry: TfjsWeightEntry = {
      name: `${name}/embeddings`,
      shape: [inputDim, outputDim],
      dtype: 'float32',
      quantization: { dtype: options.quantize, scale: q.scale, min: q.min, original_dtype: 'float32' },
    };
    return writeShards(path, data.config, entry, q.data.length, shardBytes, async (from, to) => q.data.subarray(from, to));
  }
  return writeTfjsRows(path, data.config, arrayRows(data.weights, data.config.outputDim), options);
}

/**
 * @internal {@link writeTfjs} (float32 or float16 weights) from a reader of row ranges (a
 * layer's `readMergedRows`): each shard is encoded from just the rows it holds, so no copy of
 * the whole table is made. uint8/uint16 quantization is refused here (it needs the whole table).
 */
export async function writeTfjsRows(
  path: string,
  config: ResolvedEmbeddingConfig,
  readRows: RowReader,
  options: WriteTfjsOptions = {},
): Promise<void> {
  if (options.quantize === 'uint8' || options.quantize === 'uint16')
    throw new TypeError('writeTfjsRows: affine quantization needs the whole table.');
  const shardBytes = checkShardBytes(path, options.shardBytes);
  const { inputDim, outputDim, name } = config;
  checkLayerNameForFile(name, path);
  const half = options.quantize === 'float16';
  const entry: TfjsWeightEntry = { name: `${name}/embeddings`, shape: [inputDim, outputDim], dtype: 'float32' };
  if (half) entry.quantization = { dtype: 'float16' };
  const rowBytes = outputDim * (half ? 2 : 4);
  const encode = (values: Float32Array) => (half ? encodeHalf(values) : float32Bytes(values));
  await writeShards(path, config, entry, inputDim * rowBytes, shardBytes, async (from, to) => {
    // The rows that hold bytes [from, to), then just those bytes.
    const first = Math.floor(from / rowBytes);
    const end = Math.ceil(to / rowBytes);
    const bytes = encode(await readRows(first, end - first));
    return bytes.subarray(from - first * rowBytes, to - first * rowBytes);
  });
}

function checkShardBytes(path: string, shardBytes = 4 * 1024 * 1024): number {
  if (!Number.isInteger(shardBytes) || shardBytes <= 0)
    throw badFile(path, `shardBytes must be a positive integer, received ${shardBytes}.`);
  return shardBytes;
}

/** Writes the shards (bytes [from, to) of the weight each, from `bytesOf`) and then model.json, as one file set. */
async function writeShards(
  path: string,
  config: ResolvedEmbeddingConfig,
  entry: TfjsWeightEntry,
  total: number,
  shardBytes: number,
  bytesOf: (from: number, to: number) => Promise<Uint8Array>,
): Promise<void> {
  const count = Math.max(1, Math.ceil(total / shardBytes));
  const stem = basename(path, extname(path));
  const prefix = basename(path) === 'model.json' ? 'group1' : `${stem}.group1`;
  const wanted = Array.from({ length: count }, (_, i) => `${prefix}-shard${i + 1}of${count}.bin`);
  await replaceFileSet(
    path,
    wanted.map((name, i) => ({
      name,
      write: async (temp: string) => writeBytes(temp, await bytesOf(i * shardBytes, Math.min(total, (i + 1) * shardBytes))),
    })),
    (temp, names) => writeBytes(temp, JSON.stringify(tfjsModelJson({ config }, [{ paths: [...names], weights: [entry] }]))),
    () => oldShards(path),
  );
}
