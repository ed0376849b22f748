import { decodeInt4, encodeInt4, int4At, int4RowBytes } from '@embedding-layer/core/backend';
import { strFromU8, strToU8, zipSync } from 'fflate';
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
import { atomicWrite, readWhole } from '../util/fs.js';
import { createH5Bytes, type H5Matrix, type H5Snapshot, readH5Matrix, readH5Values, withH5Bytes } from '../util/h5.js';
import type { H5NodeInfo } from '../util/h5-worker.js';
import { dequantizeInt8, quantizeInt8 } from '../util/int8.js';
import { parseFileJson } from '../util/json.js';
import { checkFiniteForQuantizing, checkLayerNameForFile } from '../util/writable.js';
import { readZip } from '../util/zip.js';
import { type FoundMatrix, makeRecord, type ReadOptions } from './common.js';
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

function unzip(path: string, bytes: Uint8Array): Record<string, Uint8Array> {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04))
    throw badFile(path, 'not a .keras file: expected a zip archive (magic "PK\\x03\\x04").');
  return readZip(path, bytes, { members: MEMBERS, maxTotalBytes: KERAS_ZIP_LIMITS.maxTotalBytes, maxRatio: KERAS_ZIP_LIMITS.maxRatio });
}

function parseJson(path: string, member: string, bytes: Uint8Array | undefined): unknown {
  if (!bytes) throw badFile(path, `not a Keras 3 .keras file: the zip has no ${member}.`);
  return parseFileJson(strFromU8(bytes), path, member);
}

/**
 * Reads every Embedding layer of a Keras 3 `.keras` zip: configs from `config.json`, weights
 * from `model.weights.h5` at `layers/<path>/vars/0`, where `<path>` is found by the `vars`
 * group's `name` attribute (the layer name) or else by Keras 3's class-based naming.
 */
export async function readKeras3(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  return readKeras3Bytes(await readWhole(path, options.onProgress), path, options);
}

/** @internal {@link readKeras3} on a .keras file held in memory (`path` names it in errors). */
export async function readKeras3Bytes(bytes: Uint8Array, path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const members = unzip(path, bytes);
  const modelConfig = parseJson(path, 'config.json', members['config.json']);
  const layers = findEmbeddingConfigs(modelConfig);
  if (layers.length === 0 && hasLayerList(modelConfig))
    throw badFile(path, 'the model holds no Embedding layer (config.json has no layer with class_name "Embedding").');
  const weightsBytes = members['model.weights.h5'];
  if (!weightsBytes) throw badFile(path, 'not a Keras 3 .keras file: the zip has no model.weights.h5.');
  const classPaths = keras3WeightPaths(modelConfig);
  const inputShapes = keras3InputShapes(modelConfig);
  return withH5Bytes(weightsBytes, `${path} (model.weights.h5)`, { attrs: ['name'], datasets: '(^|/)vars/[0-3]$' }, async (h5file) => {
    const groups = keras3VarsGroups(h5file);
    const byName = new Map<string, string>();
    const byPath = new Map<string, string>();
    for (const g of groups) {
      if (g.name !== undefined && !byName.has(g.name)) byName.set(g.name, g.raw);
      if (!byPath.has(g.path)) byPath.set(g.path, g.raw);
    }
    const records: EmbeddingRecord[] = [];
    const read = async (
      name: string,
      vars: string,
      policy: unknown,
      found: Omit<FoundMatrix, keyof H5Matrix | 'name' | 'location'>,
      outputDim?: unknown,
    ) => {
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
      return { name, ...m, location: `model.weights.h5:${location}`, ...found };
    };

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
      const policy = policyName(sourceConfig.dtype);
      records.push(
        makeRecord(
          path,
          'keras',
          await read(name, vars, policy, { fileConfig: config, sourceConfig, notes }, sourceConfig.output_dim),
          options,
        ),
      );
    }
    if (layers.length > 0) return records;

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
      const m = await read(name, g.raw, undefined, { fileConfig: null, sourceConfig: null, notes: [note] });
      records.push(makeRecord(path, 'keras', m, { ...options, config: { name, ...(options.config ?? {}) } }));
    }
    return records;
  });
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
  if (options.quantize !== undefined && options.quantize !== 'int8' && options.quantize !== 'int4')
    throw badFile(path, `unknown Keras 3 quantization ${JSON.stringify(options.quantize)}; expected 'int8' or 'int4'.`);
  const int8 = options.quantize === 'int8';
  const int4 = options.quantize === 'int4';
  checkLayerNameForFile(data.config.name, path);
  if (int8 || int4) checkFiniteForQuantizing(data.weights, data.config.outputDim, path, `Keras 3 ${options.quantize} quantization`);
  const weights = await createH5Bytes((file) => {
    const vars = file.create_group('layers').create_group('embedding').create_group('vars');
    vars.create_attribute('name', data.config.name);
    const shape = [data.config.inputDim, data.config.outputDim];
    if (int8) {
      const q = quantizeInt8(data.weights, data.config.inputDim, data.config.outputDim);
      vars.create_dataset({ name: '0', data: q.values, shape, dtype: '<b' });
      vars.create_dataset({ name: '1', data: q.scales, shape: [data.config.inputDim], dtype: '<f' });
    } else if (int4) {
      const q = encodeInt4(data.weights, data.config.inputDim, data.config.outputDim);
      vars.create_dataset({ name: '0', data: q.packed, shape: [data.config.inputDim, int4RowBytes(data.config.outputDim)], dtype: '<b' });
      vars.create_dataset({ name: '1', data: q.scales, shape: [data.config.inputDim], dtype: '<f' });
    } else {
      vars.create_dataset({ name: '0', data: data.weights, shape, dtype: '<f' });
    }
    file.create_group('vars').create_attribute('name', 'sequential');
  });
  const config = keras3SequentialConfig(data);
  if (int8) {
    const layer = ((config.config as { layers: Record<string, unknown>[] }).layers[1]!.config ?? {}) as Record<string, unknown>;
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
    const layer = ((config.config as { layers: Record<string, unknown>[] }).layers[1]!.config ?? {}) as Record<string, unknown>;
    // Keras 3.14+'s per-channel int4 policy (its get_config writes mode and source_name, no name).
    layer.dtype = {
      module: 'keras',
      class_name: 'Int4DTypePolicy',
      config: { mode: 'int4/-1', source_name: 'float32' },
      registered_name: null,
    };
    layer.quantization_config = null;
  }
  const metadata = { keras_version: KERAS3_VERSION, date_saved: timestamp(new Date()) };
  const zip = zipSync(
    {
      'metadata.json': strToU8(JSON.stringify(metadata)),
      'config.json': strToU8(JSON.stringify(config)),
      'model.weights.h5': weights,
    },
    { level: 0 },
  );
  await atomicWrite(path, zip);
}
