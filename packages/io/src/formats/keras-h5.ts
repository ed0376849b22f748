import type { Group } from 'h5wasm';
import { findEmbeddingConfigs, readLayerConfig, toKeras2LayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { atomicWriteFiles, fileSize, writeBytes } from '../util/fs.js';
import { createH5Bytes, type H5Matrix, type H5Snapshot, readH5Matrix, stringAttr, withH5, writeStringListAttr } from '../util/h5.js';
import type { H5NodeInfo } from '../util/h5-worker.js';
import { makeRecord, type ReadOptions } from './common.js';

const EMBEDDINGS_DATASET = /^embeddings(:0)?$/;

/** `keras_version` written into our .h5 files: the Keras 2 line whose layout they follow. */
export const KERAS2_VERSION = '2.15.0';

function embeddingDatasets(file: H5Snapshot, root: string): { path: string; dataset: H5NodeInfo }[] {
  return file
    .below(root)
    .filter(({ rel, node }) => node.type === 'Dataset' && EMBEDDINGS_DATASET.test(rel.split('/').pop()!))
    .map(({ rel, node }) => ({ path: rel, dataset: node }));
}

/**
 * Reads every Embedding layer of a Keras 2 HDF5 file: a full model (`model.save`: root attr
 * `model_config`, weights under `model_weights/<layer>/<layer>/embeddings:0`) or a weights-only
 * file (`model.save_weights`: no config, groups at the root). For a weights-only file the
 * config comes from `options.config`, else from the dataset shape.
 */
export async function readKerasH5(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const size = await fileSize(path);
  options.onProgress?.(0, size);
  const records = await withH5(path, path, { attrs: ['model_config'], datasets: '(^|/)embeddings(:0)?$' }, async (file) => {
    const modelConfigText = stringAttr(file.get(''), 'model_config');
    const weightsRoot = modelConfigText !== undefined && file.get('model_weights')?.type === 'Group' ? 'model_weights' : '';
    const prefix = weightsRoot === '' ? '' : 'model_weights/';
    const datasets = embeddingDatasets(file, weightsRoot);
    const records: EmbeddingRecord[] = [];
    const read = (path_: string, dataset: H5NodeInfo): Promise<H5Matrix> => readH5Matrix(file, dataset, `${prefix}${path_}`);

    if (modelConfigText !== undefined) {
      let modelConfig: unknown;
      try {
        modelConfig = JSON.parse(modelConfigText);
      } catch (error) {
        throw badFile(path, `the model_config attribute is not JSON (${(error as Error).message}).`, error);
      }
      const layers = findEmbeddingConfigs(modelConfig);
      if (layers.length === 0)
        throw badFile(path, 'the model holds no Embedding layer (model_config has no layer with class_name "Embedding").');
      for (const layer of layers) {
        const sourceConfig = layer.config as Record<string, unknown>;
        const { config, notes } = readLayerConfig(layer, path);
        const name = String(sourceConfig.name);
        // Nested models put a layer's group under the sub-model's: match on the parent group name.
        const hit =
          datasets.find((d) => d.path === `${name}/${name}/embeddings:0`) ??
          datasets.find((d) => d.path.split('/').slice(-2, -1)[0] === name);
        if (!hit)
          throw badFile(path, `model_config lists Embedding "${name}" but there is no dataset ${prefix}${name}/${name}/embeddings:0.`);
        const m = await read(hit.path, hit.dataset);
        records.push(
          makeRecord(path, 'keras-h5', { name, ...m, location: `${prefix}${hit.path}`, fileConfig: config, sourceConfig, notes }, options),
        );
      }
      return records;
    }

    if (datasets.length === 0)
      throw badFile(
        path,
        'no Embedding layer: no model_config attribute and no dataset named embeddings:0 (expected <layer>/<layer>/embeddings:0).',
      );
    for (const { path: p, dataset } of datasets) {
      const name = p.split('/')[0]!;
      const m = await read(p, dataset);
      records.push(
        makeRecord(
          path,
          'keras-h5',
          {
            name,
            ...m,
            location: p,
            fileConfig: null,
            sourceConfig: null,
            notes: ['weights-only file (model.save_weights): the config comes from the dataset shape and the caller.'],
          },
          { ...options, config: { name, ...(options.config ?? {}) } },
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
