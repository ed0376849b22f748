import type { Group } from 'h5wasm';
import { findEmbeddingConfigs, readLayerConfig, toKeras2LayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { atomicWriteFiles, fileSize, writeBytes } from '../util/fs.js';
import { createH5Bytes, type H5Matrix, readH5Matrix, stringAttr, withH5, writeStringListAttr } from '../util/h5.js';
import { parseFileJson } from '../util/json.js';
import { checkLayerNameForFile } from '../util/writable.js';
import { makeRecord, type ReadOptions } from './common.js';
import { type H5Table, hasLayerList, KERAS_H5_WANT, kerasH5Tables, kerasH5WeightsRoot } from './keras-layout.js';

/** `keras_version` written into our .h5 files: the Keras 2 line whose layout they follow. */
export const KERAS2_VERSION = '2.15.0';

/**
 * Reads every Embedding layer of a Keras HDF5 file: a full model (`model.save`: root attr
 * `model_config`, weights under `model_weights/<layer>/`) or a weights-only file
 * (`model.save_weights`: no config, layer groups at the root), as Keras 1.x, Keras 2 (TensorFlow
 * or Theano), tf.keras and Keras 3's legacy .h5 write them. Each layer's table is found by its
 * group's `weight_names` attribute, as Keras loads it (see keras-layout.ts). Keras 1 configs are
 * read as Keras 2's legacy converter reads them (`readLayerConfig`).
 *
 * Without an Embedding config (a weights-only file, or a subclassed model, whose `model_config`
 * has no layer list) the tables are found by their weight names (`embeddings`, Keras 1's
 * `<layer>_W`) and the config comes from the dataset shape and `options.config`.
 */
export async function readKerasH5(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const size = await fileSize(path);
  options.onProgress?.(0, size);
  const records = await withH5(path, path, KERAS_H5_WANT, async (file) => {
    const modelConfigText = stringAttr(file.get(''), 'model_config');
    const weightsRoot = kerasH5WeightsRoot(file);
    const prefix = weightsRoot === '' ? '' : `${weightsRoot}/`;
    const tables = kerasH5Tables(file, weightsRoot);
    const records: EmbeddingRecord[] = [];
    const read = (table: H5Table): Promise<H5Matrix> => readH5Matrix(file, table.dataset, `${prefix}${table.path}`);

    let layers: Record<string, unknown>[] = [];
    let layerList = false;
    if (modelConfigText !== undefined) {
      const modelConfig = parseFileJson(modelConfigText, path, 'the model_config attribute');
      layers = findEmbeddingConfigs(modelConfig);
      layerList = hasLayerList(modelConfig);
    }
    for (const layer of layers) {
      const sourceConfig = layer.config as Record<string, unknown>;
      const { config, notes } = readLayerConfig(layer, path);
      const name = String(sourceConfig.name);
      const hit = tables.byConfig(name);
      if ('missing' in hit)
        throw badFile(path, `model_config lists Embedding "${name}" but its weights are not in the file: ${hit.missing}.`);
      const m = await read(hit);
      records.push(
        makeRecord(path, 'keras-h5', { name, ...m, location: `${prefix}${hit.path}`, fileConfig: config, sourceConfig, notes }, options),
      );
    }
    if (layers.length > 0) return records;
    if (layerList) throw badFile(path, 'the model holds no Embedding layer (model_config has no layer with class_name "Embedding").');

    // No Embedding config (weights-only file, or a subclassed model's config): find the tables by their weights.
    const found = tables.byWeights();
    if (found.length === 0)
      throw badFile(
        path,
        modelConfigText !== undefined
          ? "no Embedding layer: model_config lists no layers (a subclassed model), and no layer has a weight named like an Embedding's (embeddings, or Keras 1's <layer>_W as its only weight)."
          : "no Embedding layer: no model_config attribute, and no layer has a weight named like an Embedding's (<layer>/<layer>/embeddings:0, or Keras 1's <layer>/<layer>_W as its only weight).",
      );
    const note =
      modelConfigText !== undefined
        ? 'model_config lists no Embedding layer (a subclassed model saves no layer list): the table was found by its weight name; the config comes from the dataset shape and the caller.'
        : 'weights-only file (model.save_weights): the config comes from the dataset shape and the caller.';
    for (const table of found) {
      const m = await read(table);
      records.push(
        makeRecord(
          path,
          'keras-h5',
          { name: table.name, ...m, location: `${prefix}${table.path}`, fileConfig: null, sourceConfig: null, notes: [note] },
          { ...options, config: { name: table.name, ...(options.config ?? {}) } },
        ),
      );
    }
    return records;
  });
  options.onProgress?.(size, size);
  return records;
}

/** Options of {@link writeKerasH5}. */
export interface WriteKerasH5Options {
  /** Write a `model.save_weights()` file (no `model_config`, groups at the root) instead of a full model. Default false. */
  readonly weightsOnly?: boolean;
}

/** The Keras 2 `Sequential` model config that holds one Embedding (with the InputLayer tf-keras 2.x writes). */
export function keras2SequentialConfig(data: EmbeddingData): Record<string, unknown> {
  const layer = toKeras2LayerConfig(data.config);
  return {
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      layers: [
        {
          class_name: 'InputLayer',
          config: {
            batch_input_shape: layer.batch_input_shape,
            dtype: 'float32',
            sparse: false,
            ragged: false,
            name: `${layer.name}_input`,
          },
        },
        { class_name: 'Embedding', config: layer },
      ],
    },
  };
}

/**
 * Writes a Keras 2 .h5 file, atomically, with the layout `model.save()` gives (or
 * `model.save_weights()` with `weightsOnly`): root attrs `keras_version`, `backend`,
 * `model_config` (a Sequential: InputLayer + Embedding); `model_weights` with `layer_names`;
 * `<layer>` with `weight_names = ['<layer>/embeddings:0']`; dataset
 * `<layer>/<layer>/embeddings:0` of float32.
 */
export async function writeKerasH5(path: string, data: EmbeddingData, options: WriteKerasH5Options = {}): Promise<void> {
  const name = data.config.name;
  checkLayerNameForFile(name, path);
  const inputName = `${name}_input`;
  const modelConfig = JSON.stringify(keras2SequentialConfig(data));
  await atomicWriteFiles([
    {
      path,
      write: async (temp) =>
        writeBytes(
          temp,
          await createH5Bytes((file) => {
            let root: Group = file;
            if (!options.weightsOnly) {
              file.create_attribute('keras_version', KERAS2_VERSION);
              file.create_attribute('backend', 'tensorflow');
              file.create_attribute('model_config', modelConfig);
              root = file.create_group('model_weights');
            }
            root.create_attribute('backend', 'tensorflow');
            root.create_attribute('keras_version', KERAS2_VERSION);
            writeStringListAttr(root, 'layer_names', options.weightsOnly ? [name] : [inputName, name]);
            if (!options.weightsOnly) writeStringListAttr(root.create_group(inputName), 'weight_names', []);
            const layerGroup = root.create_group(name);
            writeStringListAttr(layerGroup, 'weight_names', [`${name}/embeddings:0`]);
            layerGroup.create_group(name).create_dataset({
              name: 'embeddings:0',
              data: data.weights,
              shape: [data.config.inputDim, data.config.outputDim],
              dtype: '<f',
            });
          }),
        ),
    },
  ]);
}
