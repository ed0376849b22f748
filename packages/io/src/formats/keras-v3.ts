import type { FileHandle } from 'node:fs/promises';
import { readFile, rm } from 'node:fs/promises';
import { EmbeddingError, InvalidWeightsError, type ResolvedEmbeddingConfig } from '@embedding-layer/core';
import { decodeInt4, encodeInt4, int4At, int4RowBytes } from '@embedding-layer/core/backend';
import {
  findEmbeddingConfigs,
  inputLengthFromShape,
  keras3DtypePolicy,
  policyName,
  readLayerConfig,
  toKeras3LayerConfig,
} from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { atomicWriteFiles, ioTestHooks, openRegular } from '../util/fs.js';
import {
  claimH5Datasets,
  type H5Matrix,
  type H5Snapshot,
  h5MatrixInfo,
  h5MatrixSource,
  type OpenH5,
  openH5Range,
  readH5Matrix,
  readH5Values,
  withH5Bytes,
  withOpenH5,
} from '../util/h5.js';
import { type H5BuildStep, type H5NodeInfo, type H5Writer, withH5Writer } from '../util/h5-worker.js';
import { dequantizeInt8, quantizeInt8 } from '../util/int8.js';
import { parseFileJson } from '../util/json.js';
import { checkLayerNameForFile } from '../util/writable.js';
import { readZip, readZipFile, type StoredZipMember, writeStoredZip } from '../util/zip.js';
import {
  arrayRows,
  type FoundMatrix,
  forEachChunk,
  type LazyTables,
  makeLazyRecord,
  makeRecord,
  type ReadOptions,
  type RowReader,
} from './common.js';
import { hasLayerList, keras3EmbeddingVarsByClass, keras3InputShapes, keras3VarsGroups } from './keras-layout.js';

/** `keras_version` written into our .keras files' metadata.json: the Keras 3 release whose layout they follow. */
export const KERAS3_VERSION = '3.10.0';

/** Keras 3's `naming.to_snake_case`, which names a layer's group in model.weights.h5 after its class. */
export function kerasSnakeCase(name: string): string {
  const cleaned = name.replace(/\W+/g, '');
  return cleaned
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * The weight paths Keras 3 gives the layers of a model config when it saves them: each model's
 * `layers` list (InputLayers excluded) becomes `layers/<snake_case(class)>`, with `_1`, `_2`...
 * for repeats, recursively for nested models. Keras 3.x files also carry the layer name as the
 * `name` attribute of the `vars` group, which is used first; this is the fallback.
 */
function keras3WeightPaths(modelConfig: unknown): Map<string, string> {
  const paths = new Map<string, string>();
  const visit = (model: Record<string, unknown>, prefix: string) => {
    const layers = (model.config as { layers?: unknown } | undefined)?.layers;
    if (!Array.isArray(layers)) return;
    const seen = new Map<string, number>();
    for (const layer of layers as Record<string, unknown>[]) {
      if (typeof layer !== 'object' || layer === null || layer.class_name === 'InputLayer') continue;
      const base = kerasSnakeCase(String(layer.class_name));
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      const path = `${prefix}layers/${n === 0 ? base : `${base}_${n}`}`;
      const name = (layer.config as { name?: unknown } | undefined)?.name;
      if (typeof name === 'string') paths.set(name, path);
      visit(layer, `${path}/`);
    }
  };
  if (typeof modelConfig === 'object' && modelConfig !== null) visit(modelConfig as Record<string, unknown>, '');
  return paths;
}

/**
 * Limits on what a .keras zip may inflate to. The whole central directory is checked first
 * (entry count against its size, unique names, no shared bytes), then each member read is
 * inflated to at most its declared size, its limit here and `maxRatio` times the bytes its
 * deflate stream really consumes. Keras stores its entries uncompressed.
 */
export const KERAS_ZIP_LIMITS = {
  /** Largest uncompressed `config.json` / `metadata.json`. */
  maxJsonBytes: 64 * 1024 * 1024,
  /** Largest uncompressed `model.weights.h5`. */
  maxWeightsBytes: 8 * 1024 * 1024 * 1024,
  /** Largest total of the three members, uncompressed. */
  maxTotalBytes: 8 * 1024 * 1024 * 1024 + 128 * 1024 * 1024,
  /** Largest uncompressed/compressed ratio for an entry over 1 MiB, on the bytes its deflate stream really consumes (deflate tops out near 1032:1). */
  maxRatio: 100,
} as const;

const MEMBERS: Readonly<Record<string, number>> = {
  'config.json': KERAS_ZIP_LIMITS.maxJsonBytes,
  'metadata.json': KERAS_ZIP_LIMITS.maxJsonBytes,
  'model.weights.h5': KERAS_ZIP_LIMITS.maxWeightsBytes,
};

const ZIP_LIMITS = { members: MEMBERS, maxTotalBytes: KERAS_ZIP_LIMITS.maxTotalBytes, maxRatio: KERAS_ZIP_LIMITS.maxRatio };

function checkZipMagic(path: string, head: Uint8Array): void {
  if (!(head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04))
    throw badFile(path, 'not a .keras file: expected a zip archive (magic "PK\\x03\\x04").');
}

function parseJson(path: string, member: string, bytes: Uint8Array | undefined): unknown {
  if (!bytes) throw badFile(path, `not a Keras 3 .keras file: the zip has no ${member}.`);
  return parseFileJson(new TextDecoder().decode(bytes), path, member);
}

/** What a scan of model.weights.h5 reads: `vars` groups' `name` attributes, shape and type of `vars/0`-`vars/3`. */
const KERAS3_H5_WANT = { attrs: ['name'], datasets: '(^|/)vars/[0-3]$' };

/** config.json parsed, with the checks that come before model.weights.h5 is opened. */
function keras3ModelConfig(path: string, members: Record<string, Uint8Array>, hasWeights: boolean): unknown {
  const modelConfig = parseJson(path, 'config.json', members['config.json']);
  if (findEmbeddingConfigs(modelConfig).length === 0 && hasLayerList(modelConfig))
    throw badFile(path, 'the model holds no Embedding layer (config.json has no layer with class_name "Embedding").');
  if (!hasWeights) throw badFile(path, 'not a Keras 3 .keras file: the zip has no model.weights.h5.');
  return modelConfig;
}

/** One Embedding of a .keras whose table is in model.weights.h5, nothing read yet. */
interface Keras3Found {
  readonly name: string;
  /** Its `vars` group in model.weights.h5. */
  readonly vars: string;
  readonly policy: unknown;
  readonly outputDim?: unknown;
  readonly found: Omit<FoundMatrix, keyof H5Matrix | 'name' | 'location'>;
  readonly options: ReadOptions;
}

/** The Embedding tables of a .keras (see {@link readKeras3}), found in the scanned model.weights.h5. */
function keras3Found(h5file: H5Snapshot, modelConfig: unknown, path: string, options: ReadOptions): Keras3Found[] {
  const layers = findEmbeddingConfigs(modelConfig);
  const classPaths = keras3WeightPaths(modelConfig);
  const inputShapes = keras3InputShapes(modelConfig);
  const groups = keras3VarsGroups(h5file);
  const byName = new Map<string, string>();
  const byPath = new Map<string, string>();
  for (const g of groups) {
    if (g.name !== undefined && !byName.has(g.name)) byName.set(g.name, g.raw);
    if (!byPath.has(g.path)) byPath.set(g.path, g.raw);
  }
  const out: Keras3Found[] = [];
  for (const layer of layers) {
    const sourceConfig = layer.config as Record<string, unknown>;
    const name = String(sourceConfig.name);
    const parsed = readLayerConfig(layer, path);
    let config = parsed.config;
    const notes = [...parsed.notes];
    const classPath = classPaths.get(name);
    const vars = byName.get(name) ?? (classPath === undefined ? undefined : byPath.get(classPath));
    if (vars === undefined || h5file.get(`${vars}/0`)?.type !== 'Dataset')
      throw badFile(
        path,
        `config.json lists Embedding "${name}" but model.weights.h5 has no dataset ${vars !== undefined ? `${vars}/0` : classPath !== undefined ? `${classPath}/vars/0` : 'layers/<path>/vars/0'} for it.`,
      );
    // Keras 3 has no input_length: a fixed length is in the shapes Keras recorded for the layer.
    const input = inputShapes.get(layer);
    const length = config.inputLength === undefined && input ? inputLengthFromShape(input.shape) : undefined;
    if (length !== undefined) {
      config = { ...config, inputLength: length };
      notes.push(
        `input_length ${JSON.stringify(length)} from ${input!.from} ${JSON.stringify(input!.shape)} (Keras 3 has no input_length argument).`,
      );
    }
    out.push({
      name,
      vars,
      policy: policyName(sourceConfig.dtype),
      outputDim: sourceConfig.output_dim,
      found: { fileConfig: config, sourceConfig, notes },
      options,
    });
  }
  if (layers.length > 0) return out;

  // No Embedding config (a subclassed model saves no layer list): find the tables by Keras 3's class-based group names.
  const found = keras3EmbeddingVarsByClass(h5file, groups);
  if (found.length === 0)
    throw badFile(
      path,
      'the model holds no Embedding layer: config.json lists no layers (a subclassed model), and model.weights.h5 has no layers/.../embedding[_<n>]/vars/0 table.',
    );
  for (const g of found) {
    const name = g.name ?? g.path;
    const note = `config.json lists no Embedding layer (a subclassed model saves no layer list): the table was found at ${g.path}, where Keras 3 saves an Embedding's variables; the config comes from the dataset shape and the caller.`;
    out.push({
      name,
      vars: g.raw,
      policy: undefined,
      found: { fileConfig: null, sourceConfig: null, notes: [note] },
      options: { ...options, config: { name, ...(options.config ?? {}) } },
    });
  }
  return out;
}

/** Whether a table is stored quantized (int8, int4, float8 policies, or an int8 `vars/0`): read whole, dequantized. */
function isQuantized(h5file: H5Snapshot, f: Keras3Found): boolean {
  return (typeof f.policy === 'string' && /^(int8|int4|float8)/.test(f.policy)) || isInt8Layout(h5file.get(`${f.vars}/0`)!, f.policy);
}

/** Reads one found table whole (dequantizing Keras 3's int8 and int4 layouts). */
async function readKeras3Matrix(h5file: H5Snapshot, f: Keras3Found, path: string): Promise<FoundMatrix> {
  const { name, vars, policy, outputDim } = f;
  const location = `${vars}/0`;
  const dataset = h5file.get(location)!;
  if (typeof policy === 'string' && /^float8/.test(policy))
    throw badFile(
      path,
      `Embedding "${name}" is quantized with dtype policy ${JSON.stringify(policy)}; only Keras 3's int8 and per-channel int4 layouts are read.`,
    );
  const int4 = typeof policy === 'string' ? /^int4(?:\/(-?\d+|None))?_from_/.exec(policy) : null;
  let m: H5Matrix;
  if (int4) {
    const block = int4[1] === undefined || int4[1] === 'None' ? -1 : Number(int4[1]);
    if (typeof outputDim !== 'number' || !Number.isInteger(outputDim) || outputDim < 0)
      throw badFile(
        path,
        `Embedding "${name}" is int4-quantized: its output_dim must come from config.json, found ${JSON.stringify(outputDim)}.`,
      );
    m = block > 0 ? await readInt4GroupedMatrix(h5file, vars, outputDim, block) : await readInt4Matrix(h5file, vars, outputDim);
  } else m = isInt8Layout(dataset, policy) ? await readInt8Matrix(h5file, vars) : await readH5Matrix(h5file, dataset, location);
  return { name, ...m, location: `model.weights.h5:${location}`, ...f.found };
}

async function keras3Records(h5file: H5Snapshot, modelConfig: unknown, path: string, options: ReadOptions): Promise<EmbeddingRecord[]> {
  const records: EmbeddingRecord[] = [];
  for (const f of keras3Found(h5file, modelConfig, path, options))
    records.push(makeRecord(path, 'keras', await readKeras3Matrix(h5file, f, path), f.options));
  return records;
}

/** Reads of byte ranges of an open file, bounded by its size at open. */
function handleRanges(handle: FileHandle, size: number, path: string) {
  const readInto = async (out: Uint8Array, position: number): Promise<void> => {
    const length = out.length;
    if (!Number.isSafeInteger(position) || position < 0 || position + length > size)
      throw badFile(path, `truncated: expected ${length} bytes at offset ${position}, the file has ${size} bytes.`);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, position + done);
      if (bytesRead === 0)
        throw badFile(path, `truncated: expected ${length} bytes at offset ${position}, the file ends after ${done} of them.`);
      done += bytesRead;
    }
  };
  return {
    size,
    readInto,
    async read(position: number, length: number): Promise<Uint8Array> {
      // Checked before allocating: a header may claim terabytes.
      if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > size)
        throw badFile(path, `truncated: expected ${length} bytes at offset ${position}, the file has ${size} bytes.`);
      const out = new Uint8Array(length);
      await readInto(out, position);
      return out;
    },
  };
}

/** A .keras file opened: its zip checked, config.json parsed; model.weights.h5 left in the file when stored (as Keras writes it). */
async function openKeras3Zip(path: string) {
  const { handle, size } = await openRegular(path);
  try {
    const ranges = handleRanges(handle, size, path);
    checkZipMagic(path, await ranges.read(0, Math.min(4, size)));
    const zip = await readZipFile(path, ranges, ZIP_LIMITS, ['model.weights.h5']);
    const weights = zip.inPlace['model.weights.h5'];
    const modelConfig = keras3ModelConfig(path, zip.members, weights !== undefined || zip.members['model.weights.h5'] !== undefined);
    return { handle, size, zip, weights, modelConfig };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Reads every Embedding layer of a Keras 3 `.keras` zip: configs from `config.json`, weights
 * from `model.weights.h5` at `layers/<path>/vars/0`, where `<path>` is found by the `vars`
 * group's `name` attribute (the layer name) or else by Keras 3's class-based naming.
 *
 * The zip is read by ranges; a stored `model.weights.h5` (as Keras writes it) is read in place
 * by the HDF5 worker, a float table a range of rows at a time, after its CRC-32 is checked a
 * piece at a time. A deflated one is inflated into memory (bounded by `KERAS_ZIP_LIMITS`) first.
 */
export async function readKeras3(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const opened = await openKeras3Zip(path);
  const { handle, size, zip, weights, modelConfig } = opened;
  try {
    options.onProgress?.(0, size);
    const shownAs = `${path} (model.weights.h5)`;
    const records = weights
      ? await withOpenH5(await openH5Range(handle, weights.offset, weights.size, shownAs, KERAS3_H5_WANT), (h5file) =>
          keras3Records(h5file, modelConfig, path, options),
        )
      : await withH5Bytes(zip.members['model.weights.h5']!, shownAs, KERAS3_H5_WANT, (h5file) =>
          keras3Records(h5file, modelConfig, path, options),
        );
    options.onProgress?.(size, size);
    return records;
  } finally {
    await handle.close();
  }
}

/**
 * @internal The Embedding tables of a `.keras` file held open for streaming reads (how
 * `loadEmbedding` fills a backend without a copy of the table): each record's `source` reads
 * its rows from the stored model.weights.h5 by hyperslab. Null (the caller reads the file whole)
 * when model.weights.h5 is deflated or a table is stored quantized (int8/int4, dequantized whole).
 */
export async function openKeras3Tables(path: string, options: ReadOptions = {}): Promise<LazyTables | null> {
  const { handle, weights, modelConfig } = await openKeras3Zip(path);
  let h5: OpenH5 | undefined;
  const close = async () => {
    try {
      await h5?.close();
    } finally {
      await handle.close();
    }
  };
  try {
    if (!weights) {
      await close();
      return null;
    }
    h5 = await openH5Range(handle, weights.offset, weights.size, `${path} (model.weights.h5)`, KERAS3_H5_WANT);
    const h5file = h5.file;
    const found = keras3Found(h5file, modelConfig, path, options);
    if (found.some((f) => isQuantized(h5file, f))) {
      await close();
      return null;
    }
    const records = found.map((f) => {
      const location = `${f.vars}/0`;
      const dataset = h5file.get(location)!;
      const info = h5MatrixInfo(h5file, dataset, location);
      claimH5Datasets(h5file, [{ node: dataset, claimedBytes: info.storedBytes }]);
      const source = h5MatrixSource(h5file, dataset, location, info, options.onProgress);
      return makeLazyRecord(
        path,
        'keras',
        { name: f.name, location: `model.weights.h5:${location}`, ...info, ...f.found },
        source,
        f.options,
      );
    });
    return { records, close };
  } catch (error) {
    await close();
    if (EmbeddingError.isInstance(error)) throw error;
    throw badFile(path, `HDF5 read failed (damaged or truncated file): ${String((error as Error)?.message ?? error)}`, error);
  }
}

/** @internal {@link readKeras3} on a .keras file held in memory (`path` names it in errors). */
export async function readKeras3Bytes(bytes: Uint8Array, path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  checkZipMagic(path, bytes);
  const members = readZip(path, bytes, ZIP_LIMITS);
  const modelConfig = keras3ModelConfig(path, members, members['model.weights.h5'] !== undefined);
  return withH5Bytes(members['model.weights.h5']!, `${path} (model.weights.h5)`, KERAS3_H5_WANT, (h5file) =>
    keras3Records(h5file, modelConfig, path, options),
  );
}

/** True when a layer's variables use Keras 3's int8 layout (dtype policy `int8_from_*`, or an int8 `vars/0`). */
function isInt8Layout(dataset: H5NodeInfo, policy: unknown): boolean {
  const meta = dataset.metadata;
  return (typeof policy === 'string' && policy.startsWith('int8_from_')) || (meta?.type === 0 && meta.size === 1 && meta.signed);
}

/**
 * Reads Keras 3's int8 Embedding layout (`Embedding.quantize('int8')`, dtype policy
 * `int8_from_float32`): `vars/0` = `_embeddings` int8 (input_dim, output_dim), `vars/1` =
 * `embeddings_scale` float32 (input_dim,), the per-row abs-max scale; dequantized as Keras does:
 * `w[r, c] = q[r, c] / scale[r]` (in float32).
 */
async function readInt8Matrix(file: H5Snapshot, location: string): Promise<H5Matrix> {
  const shown = file.shownAs;
  const q = file.get(`${location}/0`);
  const s = file.get(`${location}/1`);
  if (q?.type !== 'Dataset' || s?.type !== 'Dataset')
    throw badFile(
      shown,
      `${location}: an int8-quantized Embedding needs vars/0 (int8 embeddings) and vars/1 (float32 embeddings_scale); found ${JSON.stringify(file.keys(location))}.`,
    );
  const shape = q.shape ?? [];
  const qm = q.metadata;
  if (shape.length !== 2 || qm?.type !== 0 || qm.size !== 1 || !qm.signed)
    throw badFile(
      shown,
      `${location}/0: expected a 2-D int8 (input_dim, output_dim) matrix, found ${JSON.stringify(q.dtype)} of shape ${JSON.stringify(shape)}.`,
    );
  const [rows, cols] = shape as [number, number];
  const sm = s.metadata;
  if (JSON.stringify(s.shape) !== JSON.stringify([rows]) || sm?.type !== 1 || ![4, 8].includes(sm.size))
    throw badFile(
      shown,
      `${location}/1: expected the float32 embeddings_scale of shape [${rows}], found ${JSON.stringify(s.dtype)} of shape ${JSON.stringify(s.shape)}.`,
    );
  const count = rows * cols;
  const [values, scales] = await readH5Values(file, [
    { node: q, claimedBytes: count },
    { node: s, claimedBytes: rows * sm.size },
  ]);
  if (
    !(values instanceof Int8Array) ||
    values.length !== count ||
    !(scales instanceof Float32Array || scales instanceof Float64Array) ||
    scales.length !== rows
  )
    throw badFile(shown, `${location}: the int8 embeddings or their scale could not be read as ${rows} x ${cols} int8 and ${rows} floats.`);
  return {
    weights: dequantizeInt8(values, Float32Array.from(scales), rows, cols),
    rows,
    cols,
    storedDtype: 'int8',
    storedBytes: count + rows * sm.size,
  };
}

/**
 * Reads Keras 3's per-channel int4 Embedding layout (`Embedding.quantize('int4')` with
 * `block_size=-1`, dtype policy `int4/-1_from_float32`, or `int4_from_float32` before Keras
 * 3.14): `vars/0` = `_embeddings` int8 (input_dim, ceil(output_dim / 2)) holding two int4
 * values per byte (`pack_int4(axis=-1)`: column 2k in the low nibble, 2k + 1 in the high one),
 * `vars/1` = `embeddings_scale` float32 (input_dim,); dequantized as Keras's `_int4_call`:
 * `w[r, c] = unpack_int4(q)[r, c] / scale[r]` (core's codec, in float32).
 */
async function readInt4Matrix(file: H5Snapshot, location: string, cols: number): Promise<H5Matrix> {
  const shown = file.shownAs;
  const q = file.get(`${location}/0`);
  const s = file.get(`${location}/1`);
  if (q?.type !== 'Dataset' || s?.type !== 'Dataset')
    throw badFile(
      shown,
      `${location}: an int4-quantized Embedding needs vars/0 (packed int8 embeddings) and vars/1 (float32 embeddings_scale); found ${JSON.stringify(file.keys(location))}.`,
    );
  const shape = q.shape ?? [];
  const bytes = int4RowBytes(cols);
  const qm = q.metadata;
  if (shape.length !== 2 || shape[1] !== bytes || qm?.type !== 0 || qm.size !== 1)
    throw badFile(
      shown,
      `${location}/0: expected the packed int4 embeddings, int8 of shape (input_dim, ${bytes}) for output_dim ${cols}, found ${JSON.stringify(q.dtype)} of shape ${JSON.stringify(shape)}.`,
    );
  const rows = shape[0]!;
  const sm = s.metadata;
  if (JSON.stringify(s.shape) !== JSON.stringify([rows]) || sm?.type !== 1 || ![4, 8].includes(sm.size))
    throw badFile(
      shown,
      `${location}/1: expected the float32 embeddings_scale of shape [${rows}] (per-channel int4), found ${JSON.stringify(s.dtype)} of shape ${JSON.stringify(s.shape)}.`,
    );
  const [packed, scales] = await readH5Values(file, [
    { node: q, claimedBytes: rows * bytes },
    { node: s, claimedBytes: rows * sm.size },
  ]);
  if (
    !(packed instanceof Int8Array || packed instanceof Uint8Array) ||
    packed.length !== rows * bytes ||
    !(scales instanceof Float32Array || scales instanceof Float64Array) ||
    scales.length !== rows
  )
    throw badFile(
      shown,
      `${location}: the int4 embeddings or their scale could not be read as ${rows} x ${bytes} bytes and ${rows} floats.`,
    );
  const signed = packed instanceof Int8Array ? packed : new Int8Array(packed.buffer, packed.byteOffset, packed.length);
  return {
    weights: decodeInt4(signed, Float32Array.from(scales), cols),
    rows,
    cols,
    storedDtype: 'int4',
    storedBytes: rows * bytes + rows * sm.size,
  };
}

/**
 * Reads Keras 3.14+'s sub-channel int4 Embedding layout (the default `Embedding.quantize('int4')`,
 * `Int4QuantizationConfig(block_size=B)`, dtype policy `int4/B_from_float32`): `vars/0` packed as
 * per-channel int4, `vars/1` = `embeddings_scale` float32 (input_dim, n_groups), `vars/2` =
 * `embeddings_zero` int8 (input_dim, n_groups), `vars/3` = `g_idx` float32 (output_dim,), the
 * group of each column (`floor(c / B)`), n_groups = ceil(output_dim / B). Dequantized as Keras's
 * `dequantize_with_sz_map`: `w[r, c] = (q[r, c] - zero[r, g]) * scale[r, g]` with `g = g_idx[c]`,
 * in float32.
 */
async function readInt4GroupedMatrix(file: H5Snapshot, location: string, cols: number, block: number): Promise<H5Matrix> {
  const shown = file.shownAs;
  const nodes = [0, 1, 2, 3].map((k) => file.get(`${location}/${k}`));
  if (nodes.some((n) => n?.type !== 'Dataset'))
    throw badFile(
      shown,
      `${location}: a sub-channel int4 Embedding needs vars/0 (packed embeddings), vars/1 (embeddings_scale), vars/2 (embeddings_zero) and vars/3 (g_idx); found ${JSON.stringify(file.keys(location))}.`,
    );
  const [q, s, z, g] = nodes as [H5NodeInfo, H5NodeInfo, H5NodeInfo, H5NodeInfo];
  const bytes = int4RowBytes(cols);
  const groups = Math.ceil(cols / block);
  const shape = q.shape ?? [];
  if (shape.length !== 2 || shape[1] !== bytes || q.metadata?.type !== 0 || q.metadata.size !== 1)
    throw badFile(
      shown,
      `${location}/0: expected the packed int4 embeddings, int8 of shape (input_dim, ${bytes}) for output_dim ${cols}, found ${JSON.stringify(q.dtype)} of shape ${JSON.stringify(shape)}.`,
    );
  const rows = shape[0]!;
  const expect = (node: H5NodeInfo, k: number, what: string, dims: number[], type: 0 | 1, sizes: number[]) => {
    if (JSON.stringify(node.shape) !== JSON.stringify(dims) || node.metadata?.type !== type || !sizes.includes(node.metadata.size))
      throw badFile(
        shown,
        `${location}/${k}: expected ${what} of shape ${JSON.stringify(dims)} (groups of ${block} columns), found ${JSON.stringify(node.dtype)} of shape ${JSON.stringify(node.shape)}.`,
      );
  };
  expect(s, 1, 'the float32 embeddings_scale', [rows, groups], 1, [4, 8]);
  expect(z, 2, 'the int8 embeddings_zero', [rows, groups], 0, [1]);
  expect(g, 3, 'the float32 g_idx', [cols], 1, [4, 8]);
  const [packed, scales, zeros, gIdx] = await readH5Values(file, [
    { node: q, claimedBytes: rows * bytes },
    { node: s, claimedBytes: rows * groups * s.metadata!.size },
    { node: z, claimedBytes: rows * groups },
    { node: g, claimedBytes: cols * g.metadata!.size },
  ]);
  if (
    !(packed instanceof Int8Array || packed instanceof Uint8Array) ||
    packed.length !== rows * bytes ||
    !(scales instanceof Float32Array || scales instanceof Float64Array) ||
    scales.length !== rows * groups ||
    !(zeros instanceof Int8Array || zeros instanceof Uint8Array) ||
    zeros.length !== rows * groups ||
    !(gIdx instanceof Float32Array || gIdx instanceof Float64Array) ||
    gIdx.length !== cols
  )
    throw badFile(
      shown,
      `${location}: the sub-channel int4 variables could not be read as ${rows} rows of ${cols} columns in ${groups} groups.`,
    );
  const group = new Int32Array(cols);
  for (let c = 0; c < cols; c++) {
    const v = gIdx[c]!;
    if (!Number.isInteger(v) || v < 0 || v >= groups)
      throw badFile(shown, `${location}/3: g_idx[${c}] must be a group in [0, ${groups}), found ${v}.`);
    group[c] = v;
  }
  const q8 = packed instanceof Int8Array ? packed : new Int8Array(packed.buffer, packed.byteOffset, packed.length);
  const z8 = zeros instanceof Int8Array ? zeros : new Int8Array(zeros.buffer, zeros.byteOffset, zeros.length);
  const s32 = Float32Array.from(scales);
  const weights = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = r * groups + group[c]!;
      weights[r * cols + c] = (int4At(q8, r * bytes, c) - z8[k]!) * s32[k]!;
    }
  }
  return {
    weights,
    rows,
    cols,
    storedDtype: 'int4',
    storedBytes: rows * bytes + rows * groups * (s.metadata!.size + 1) + cols * g.metadata!.size,
  };
}

function inputShape(data: EmbeddingData): (number | null)[] {
  const length = data.config.inputLength;
  return [null, ...(length === null ? [null] : typeof length === 'number' ? [length] : [...length])];
}

/** The Keras 3 `Sequential` model config (config.json) that holds one Embedding, as `model.save('m.keras')` writes it. */
export function keras3SequentialConfig(data: EmbeddingData): Record<string, unknown> {
  const shape = inputShape(data);
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      trainable: true,
      dtype: keras3DtypePolicy('float32'),
      layers: [
        {
          module: 'keras.layers',
          class_name: 'InputLayer',
          config: { batch_shape: shape, dtype: 'int32', sparse: false, ragged: false, name: 'input_layer' },
          registered_name: null,
        },
        {
          module: 'keras.layers',
          class_name: 'Embedding',
          config: toKeras3LayerConfig(data.config),
          registered_name: null,
          build_config: { input_shape: shape },
        },
      ],
      build_input_shape: shape,
    },
    registered_name: null,
    build_config: { input_shape: shape },
  };
}

function timestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}@${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** Options of {@link writeKeras3}. */
export interface WriteKeras3Options {
  /**
   * `'int8'`: store the table in Keras 3's int8 layout (`Embedding.quantize('int8')`): dtype
   * policy `int8_from_float32`, `vars/0` int8 (input_dim, output_dim), `vars/1` float32
   * `embeddings_scale` (input_dim,), per-row abs-max (lossy: each value within
   * (max|row| + 1e-7) / 254 of the original). `'int4'`: Keras 3's per-channel int4 layout
   * (`Embedding.quantize('int4')` with `block_size=-1`, as Keras 3.16 saves it): dtype policy
   * `Int4DTypePolicy` mode `int4/-1`, `vars/0` int8 (input_dim, ceil(output_dim / 2)) holding
   * two values per byte (`pack_int4` along the last axis), `vars/1` float32 `embeddings_scale`
   * (input_dim,) (lossy: each value within (max|row| + 1e-7) / 14). Default: float32.
   */
  readonly quantize?: 'int8' | 'int4';
}

/**
 * Writes a Keras 3 `.keras` zip, atomically: `metadata.json` (`keras_version`, `date_saved`),
 * `config.json` (Sequential: InputLayer + Embedding, Keras 3 dialect) and `model.weights.h5`
 * (`layers/embedding/vars/0`, each `vars` group with the layer's `name` attribute), stored
 * uncompressed as Keras does. `options.quantize: 'int8'` / `'int4'` writes Keras 3's int8 / per-channel int4 layout.
 * A layer with LoRA is saved as Keras 3's `save_own_variables` saves it when `data.weights` is
 * its merged table (`layer.readMergedRows`): the merged table at `vars/0`, and `lora_rank` /
 * `lora_alpha` in the config. Keras 3 has no `input_length`: a fixed length becomes the
 * InputLayer's `batch_shape` and the layer's `build_config`, from where {@link readKeras3} reads it back as `inputLength`.
 */
export async function writeKeras3(path: string, data: EmbeddingData, options: WriteKeras3Options = {}): Promise<void> {
  await writeKeras3Rows(path, data.config, arrayRows(data.weights, data.config.outputDim), options);
}

/** {@link checkFiniteForQuantizing} for a chunk of rows starting at row `firstRow` (the same error, rows counted from the table's first). */
function checkChunkFinite(values: Float32Array, firstRow: number, cols: number, path: string, format: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v))
      throw new InvalidWeightsError(
        `${path}: ${format} cannot store ${v} (row ${firstRow + Math.floor(i / Math.max(1, cols))}, column ${i % Math.max(1, cols)}); it stores finite values only. Replace non-finite weights or write float32.`,
      );
  }
}

/**
 * @internal {@link writeKeras3} from a reader of row ranges (a layer's `readMergedRows`): the
 * zip's small members first, then model.weights.h5 written by the HDF5 worker straight into the
 * temp file as a stored member, the table a chunk of rows at a time (quantized chunk by chunk
 * for int8/int4: both quantizations are per row); its CRC-32 is computed by reading it back a
 * piece at a time and its local header patched. No copy of the table, nor of the file, is held
 * whole (int8/int4 keep the per-row scales, 4 bytes a row). The bytes are those of fflate's
 * `zipSync` over the whole-table writer's members. Atomic: a failed read leaves the old file.
 */
export async function writeKeras3Rows(
  path: string,
  config: ResolvedEmbeddingConfig,
  readRows: RowReader,
  options: WriteKeras3Options = {},
): Promise<void> {
  if (options.quantize !== undefined && options.quantize !== 'int8' && options.quantize !== 'int4')
    throw badFile(path, `unknown Keras 3 quantization ${JSON.stringify(options.quantize)}; expected 'int8' or 'int4'.`);
  const int8 = options.quantize === 'int8';
  const int4 = options.quantize === 'int4';
  checkLayerNameForFile(config.name, path);
  const { inputDim: rows, outputDim: cols } = config;
  const data: EmbeddingData = { config, weights: new Float32Array(0) };
  const modelConfig = keras3SequentialConfig(data);
  if (int8) {
    const layer = ((modelConfig.config as { layers: Record<string, unknown>[] }).layers[1]!.config ?? {}) as Record<string, unknown>;
    layer.dtype = {
      module: 'keras',
      class_name: 'QuantizedDTypePolicy',
      // QuantizedDTypePolicy.get_config() since Keras 3.6: { mode, source_name } (its from_config
      // is cls(**config), and __init__ takes no `name`: a name key would make Keras refuse the file).
      config: { mode: 'int8', source_name: 'float32' },
      registered_name: null,
    };
    layer.quantization_config = null;
  }
  if (int4) {
    const layer = ((modelConfig.config as { layers: Record<string, unknown>[] }).layers[1]!.config ?? {}) as Record<string, unknown>;
    // Keras 3.14+'s per-channel int4 policy (its get_config writes mode and source_name, no name).
    layer.dtype = {
      module: 'keras',
      class_name: 'Int4DTypePolicy',
      config: { mode: 'int4/-1', source_name: 'float32' },
      registered_name: null,
    };
    layer.quantization_config = null;
  }
  const now = new Date();
  const metadata = { keras_version: KERAS3_VERSION, date_saved: timestamp(now) };
  const rowBytes = int8 ? cols : int4 ? int4RowBytes(cols) : cols * 4;
  const expectedBytes = rows * (rowBytes + (int8 || int4 ? 4 : 0)) + 64 * 1024;
  const fill = async (writer: H5Writer) => {
    await writer.build([
      { op: 'group', path: 'layers' },
      { op: 'group', path: 'layers/embedding' },
      { op: 'group', path: 'layers/embedding/vars' },
      { op: 'attr', path: 'layers/embedding/vars', name: 'name', value: config.name },
      {
        op: 'dataset',
        path: 'layers/embedding/vars/0',
        shape: int4 ? [rows, int4RowBytes(cols)] : [rows, cols],
        dtype: int8 || int4 ? '<b' : '<f',
      },
    ]);
    const scales = int8 || int4 ? new Float32Array(rows) : undefined;
    let start = 0;
    await forEachChunk(rows, cols, readRows, async (values) => {
      const count = values.length / cols;
      if (int8 || int4) checkChunkFinite(values, start, cols, path, `Keras 3 ${options.quantize} quantization`);
      let stored: ArrayBufferView = values;
      if (int8) {
        const q = quantizeInt8(values, count, cols);
        stored = q.values;
        scales!.set(q.scales, start);
      } else if (int4) {
        const q = encodeInt4(values, count, cols);
        stored = q.packed;
        scales!.set(q.scales, start);
      }
      await writer.writeRows('layers/embedding/vars/0', start, count, stored);
      start += count;
    });
    const steps: H5BuildStep[] = [];
    if (scales) steps.push({ op: 'dataset', path: 'layers/embedding/vars/1', shape: [rows], dtype: '<f', data: scales });
    steps.push({ op: 'group', path: 'vars' }, { op: 'attr', path: 'vars', name: 'name', value: 'sequential' });
    await writer.build(steps);
  };
  const members: StoredZipMember[] = [
    { name: 'metadata.json', bytes: new TextEncoder().encode(JSON.stringify(metadata)) },
    { name: 'config.json', bytes: new TextEncoder().encode(JSON.stringify(modelConfig)) },
    {
      name: 'model.weights.h5',
      expectedBytes,
      write: (handle, offset) => withH5Writer({ fd: handle.fd, offset }, path, expectedBytes, fill),
    },
  ];
  await atomicWriteFiles([
    {
      path,
      write: async (temp) => {
        await writeStoredZip(temp, members, now);
        // Test seam (see ioTestHooks.writeFile): hand the finished bytes to the hook, as writeBytes does.
        const hook = ioTestHooks.writeFile;
        if (hook) {
          const bytes = await readFile(temp);
          await rm(temp, { force: true });
          await hook(temp, bytes);
        }
      },
    },
  ]);
}
