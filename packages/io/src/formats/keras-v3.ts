import { strFromU8, strToU8, zipSync } from 'fflate';
import { findEmbeddingConfigs, keras3DtypePolicy, readLayerConfig, toKeras3LayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { atomicWrite, readWhole } from '../util/fs.js';
import { createH5Bytes, type H5Matrix, type H5Snapshot, readH5Matrix, readH5Values, stringAttr, withH5Bytes } from '../util/h5.js';
import type { H5NodeInfo } from '../util/h5-worker.js';
import { dequantizeInt8, quantizeInt8 } from '../util/int8.js';
import { readZip } from '../util/zip.js';
import { makeRecord, type ReadOptions } from './common.js';

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
  try {
    return JSON.parse(strFromU8(bytes));
  } catch (error) {
    throw badFile(path, `${member} is not JSON (${(error as Error).message}).`, error);
  }
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
  if (layers.length === 0)
    throw badFile(path, 'the model holds no Embedding layer (config.json has no layer with class_name "Embedding").');
  const weightsBytes = members['model.weights.h5'];
  if (!weightsBytes) throw badFile(path, 'not a Keras 3 .keras file: the zip has no model.weights.h5.');
  const fallback = keras3WeightPaths(modelConfig);
  return withH5Bytes(weightsBytes, `${path} (model.weights.h5)`, { attrs: ['name'], datasets: '(^|/)vars/[01]$' }, async (h5file) => {
    const byName = new Map<string, string>();
    for (const { rel, node } of h5file.below()) {
      if (node.type !== 'Group' || !rel.endsWith('vars')) continue;
      const name = stringAttr(node, 'name');
      if (name !== undefined && rel !== 'vars' && !byName.has(name)) byName.set(name, rel.slice(0, -'/vars'.length));
    }
    const records: EmbeddingRecord[] = [];
    for (const layer of layers) {
      const sourceConfig = layer.config as Record<string, unknown>;
      const name = String(sourceConfig.name);
      const { config, notes } = readLayerConfig(layer, path);
      const layerPath = byName.get(name) ?? fallback.get(name);
      const location = `${layerPath}/vars/0`;
      const dataset = layerPath === undefined ? undefined : h5file.get(location);
      if (dataset?.type !== 'Dataset')
        throw badFile(
          path,
          `config.json lists Embedding "${name}" but model.weights.h5 has no dataset ${layerPath ? location : 'layers/<path>/vars/0'} for it.`,
        );
      const policy = (sourceConfig.dtype as { config?: { name?: unknown } } | undefined)?.config?.name ?? sourceConfig.dtype;
      if (typeof policy === 'string' && /^(int4|float8)/.test(policy))
        throw badFile(
          path,
          `Embedding "${name}" is quantized with dtype policy ${JSON.stringify(policy)}; only Keras 3's int8 layout is read.`,
        );
      const m = isInt8Layout(dataset, policy)
        ? await readInt8Matrix(h5file, `${layerPath}/vars`)
        : await readH5Matrix(h5file, dataset, location);
      records.push(
        makeRecord(
          path,
          'keras',
          { name, ...m, location: `model.weights.h5:${location}`, fileConfig: config, sourceConfig, notes },
          options,
        ),
      );
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
   * (max|row| + 1e-7) / 254 of the original). Default: float32.
   */
  readonly quantize?: 'int8';
}

/**
 * Writes a Keras 3 `.keras` zip, atomically: `metadata.json` (`keras_version`, `date_saved`),
 * `config.json` (Sequential: InputLayer + Embedding, Keras 3 dialect) and `model.weights.h5`
 * (`layers/embedding/vars/0`, each `vars` group with the layer's `name` attribute), stored
 * uncompressed as Keras does. `options.quantize: 'int8'` writes Keras 3's int8 layout. Keras 3 has no `input_length`: a fixed length becomes the
 * InputLayer's `batch_shape` and the layer's `build_config`, so it is not read back as `inputLength`.
 */
export async function writeKeras3(path: string, data: EmbeddingData, options: WriteKeras3Options = {}): Promise<void> {
  if (options.quantize !== undefined && options.quantize !== 'int8')
    throw badFile(path, `unknown Keras 3 quantization ${JSON.stringify(options.quantize)}; expected 'int8'.`);
  const int8 = options.quantize === 'int8';
  const weights = await createH5Bytes((file) => {
    const vars = file.create_group('layers').create_group('embedding').create_group('vars');
    vars.create_attribute('name', data.config.name);
    const shape = [data.config.inputDim, data.config.outputDim];
    if (int8) {
      const q = quantizeInt8(data.weights, data.config.inputDim, data.config.outputDim);
      vars.create_dataset({ name: '0', data: q.values, shape, dtype: '<b' });
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
      config: { name: 'int8_from_float32', source_name: 'float32' },
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
