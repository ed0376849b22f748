import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { Dataset, Group } from 'h5wasm';
import { findEmbeddingConfigs, keras3DtypePolicy, readLayerConfig, toKeras3LayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { atomicWrite, readWhole } from '../util/fs.js';
import { createH5, readH5Matrix, stringAttr, walkH5, withH5 } from '../util/h5.js';
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

/** @internal Runs `fn` on HDF5 bytes held in memory (h5wasm's Node build reads real files, so a temp file is used). */
async function withH5Bytes<T>(bytes: Uint8Array, shownAs: string, fn: Parameters<typeof withH5<T>>[2]): Promise<T> {
  const temp = join(tmpdir(), `embedding-layer-${process.pid}-${randomBytes(6).toString('hex')}.h5`);
  await writeFile(temp, bytes);
  try {
    return await withH5(temp, shownAs, fn);
  } finally {
    await rm(temp, { force: true });
  }
}

function unzip(path: string, bytes: Uint8Array): Record<string, Uint8Array> {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04))
    throw badFile(path, 'not a .keras file: expected a zip archive (magic "PK\\x03\\x04").');
  try {
    return unzipSync(bytes);
  } catch (error) {
    throw badFile(path, `the zip archive is damaged or truncated (${(error as Error).message}).`, error);
  }
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
  const bytes = await readWhole(path, options.onProgress);
  const members = unzip(path, bytes);
  const modelConfig = parseJson(path, 'config.json', members['config.json']);
  const layers = findEmbeddingConfigs(modelConfig);
  if (layers.length === 0)
    throw badFile(path, 'the model holds no Embedding layer (config.json has no layer with class_name "Embedding").');
  const weightsBytes = members['model.weights.h5'];
  if (!weightsBytes) throw badFile(path, 'not a Keras 3 .keras file: the zip has no model.weights.h5.');
  const fallback = keras3WeightPaths(modelConfig);
  return withH5Bytes(weightsBytes, `${path} (model.weights.h5)`, (h5file) => {
    const byName = new Map<string, string>();
    walkH5(h5file, (rel, node) => {
      if (node.type !== 'Group' || !rel.endsWith('vars')) return;
      const name = stringAttr(node as Group, 'name');
      if (name !== undefined && rel !== 'vars' && !byName.has(name)) byName.set(name, rel.slice(0, -'/vars'.length));
    });
    return layers.map((layer) => {
      const sourceConfig = layer.config as Record<string, unknown>;
      const name = String(sourceConfig.name);
      const { config, notes } = readLayerConfig(layer, path);
      const layerPath = byName.get(name) ?? fallback.get(name);
      const location = `${layerPath}/vars/0`;
      const dataset = layerPath === undefined ? null : h5file.get(location);
      if (!dataset || (dataset as Dataset).type !== 'Dataset')
        throw badFile(
          path,
          `config.json lists Embedding "${name}" but model.weights.h5 has no dataset ${layerPath ? location : 'layers/<path>/vars/0'} for it.`,
        );
      const m = readH5Matrix(dataset as Dataset, `${path} (model.weights.h5)`, location);
      return makeRecord(
        path,
        'keras',
        { name, ...m, location: `model.weights.h5:${location}`, fileConfig: config, sourceConfig, notes },
        options,
      );
    });
  });
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

/**
 * Writes a Keras 3 `.keras` zip, atomically: `metadata.json` (`keras_version`, `date_saved`),
 * `config.json` (Sequential: InputLayer + Embedding, Keras 3 dialect) and `model.weights.h5`
 * (`layers/embedding/vars/0`, each `vars` group with the layer's `name` attribute), stored
 * uncompressed as Keras does. Keras 3 has no `input_length`: a fixed length becomes the
 * InputLayer's `batch_shape` and the layer's `build_config`, so it is not read back as `inputLength`.
 */
export async function writeKeras3(path: string, data: EmbeddingData): Promise<void> {
  const temp = join(tmpdir(), `embedding-layer-${process.pid}-${randomBytes(6).toString('hex')}.weights.h5`);
  let weights: Uint8Array;
  try {
    await createH5(temp, (file) => {
      const vars = file.create_group('layers').create_group('embedding').create_group('vars');
      vars.create_attribute('name', data.config.name);
      vars.create_dataset({ name: '0', data: data.weights, shape: [data.config.inputDim, data.config.outputDim], dtype: '<f' });
      file.create_group('vars').create_attribute('name', 'sequential');
    });
    weights = new Uint8Array(await readFile(temp));
  } finally {
    await rm(temp, { force: true });
  }
  const metadata = { keras_version: KERAS3_VERSION, date_saved: timestamp(new Date()) };
  const zip = zipSync(
    {
      'metadata.json': strToU8(JSON.stringify(metadata)),
      'config.json': strToU8(JSON.stringify(keras3SequentialConfig(data))),
      'model.weights.h5': weights,
    },
    { level: 0 },
  );
  await atomicWrite(path, zip);
}
