import { EmbeddingError, type ResolvedEmbeddingConfig } from '@embedding-layer/core';
import { findEmbeddingConfigs, readLayerConfig, toKeras2LayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { atomicWriteFiles, fileSize } from '../util/fs.js';
import {
  claimH5Datasets,
  type H5Snapshot,
  h5MatrixInfo,
  h5MatrixSource,
  openH5,
  readH5Matrix,
  stringAttr,
  stringListAttrStep,
  withH5,
  writeH5File,
} from '../util/h5.js';
import type { H5BuildStep } from '../util/h5-worker.js';
import { parseFileJson } from '../util/json.js';
import { checkLayerNameForFile } from '../util/writable.js';
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
import { type H5Table, hasLayerList, KERAS_H5_WANT, kerasH5Tables, kerasH5WeightsRoot } from './keras-layout.js';

/** `keras_version` written into our .h5 files: the Keras 2 line whose layout they follow. */
export const KERAS2_VERSION = '2.15.0';

/** One Embedding table found in a scanned Keras .h5 file, before its values are read. */
interface KerasH5Found {
  readonly table: H5Table;
  readonly found: Omit<FoundMatrix, 'weights' | 'rows' | 'cols' | 'storedDtype' | 'storedBytes'>;
  readonly options: ReadOptions;
}

/** The Embedding tables of a scanned Keras .h5 file (see {@link readKerasH5}), nothing read yet. */
function kerasH5Found(file: H5Snapshot, path: string, options: ReadOptions): KerasH5Found[] {
  const modelConfigText = stringAttr(file.get(''), 'model_config');
  const weightsRoot = kerasH5WeightsRoot(file);
  const prefix = weightsRoot === '' ? '' : `${weightsRoot}/`;
  const tables = kerasH5Tables(file, weightsRoot);
  const out: KerasH5Found[] = [];

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
    out.push({ table: hit, found: { name, location: `${prefix}${hit.path}`, fileConfig: config, sourceConfig, notes }, options });
  }
  if (layers.length > 0) return out;
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
  for (const table of found)
    out.push({
      table,
      found: { name: table.name, location: `${prefix}${table.path}`, fileConfig: null, sourceConfig: null, notes: [note] },
      options: { ...options, config: { name: table.name, ...(options.config ?? {}) } },
    });
  return out;
}

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
 *
 * The file is read in place by the HDF5 worker (never copied whole), each table a range of rows
 * at a time into its one output array.
 */
export async function readKerasH5(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const size = await fileSize(path);
  options.onProgress?.(0, size);
  const records = await withH5(path, path, KERAS_H5_WANT, async (file) => {
    const records: EmbeddingRecord[] = [];
    for (const f of kerasH5Found(file, path, options)) {
      const m = await readH5Matrix(file, f.table.dataset, f.found.location);
      records.push(makeRecord(path, 'keras-h5', { ...f.found, ...m }, f.options));
    }
    return records;
  });
  options.onProgress?.(size, size);
  return records;
}

/**
 * @internal The Embedding tables of a Keras .h5 file, held open for streaming reads (how
 * `loadEmbedding` fills a backend without a copy of the table): the file is scanned and every
 * table's shape, type and size checked now; each record's `source` reads its rows by hyperslab
 * when asked (contiguous, chunked or compressed datasets alike). Close the result when done.
 */
export async function openKerasH5Tables(path: string, options: ReadOptions = {}): Promise<LazyTables> {
  const opened = await openH5(path, path, KERAS_H5_WANT);
  try {
    const { file } = opened;
    const records = kerasH5Found(file, path, options).map((f) => {
      const info = h5MatrixInfo(file, f.table.dataset, f.found.location);
      claimH5Datasets(file, [{ node: f.table.dataset, claimedBytes: info.storedBytes }]);
      const source = h5MatrixSource(file, f.table.dataset, f.found.location, info, options.onProgress);
      return makeLazyRecord(path, 'keras-h5', { ...f.found, ...info }, source, f.options);
    });
    return { records, close: () => opened.close() };
  } catch (error) {
    await opened.close();
    if (EmbeddingError.isInstance(error)) throw error;
    throw badFile(path, `HDF5 read failed (damaged or truncated file): ${String((error as Error)?.message ?? error)}`, error);
  }
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
 * `<layer>/<layer>/embeddings:0` of float32 (contiguous, as Keras writes it).
 */
export async function writeKerasH5(path: string, data: EmbeddingData, options: WriteKerasH5Options = {}): Promise<void> {
  await writeKerasH5Rows(path, data.config, arrayRows(data.weights, data.config.outputDim), options);
}

/**
 * @internal {@link writeKerasH5} from a reader of row ranges (a layer's `readMergedRows`): the
 * HDF5 worker lays the file out, then writes the table a chunk of rows at a time (one hyperslab
 * each) straight into the temp file, so no copy of the table, nor of the file, is held whole.
 * The bytes are those of the whole-table writer. Atomic: a failed read leaves the old file.
 */
export async function writeKerasH5Rows(
  path: string,
  config: ResolvedEmbeddingConfig,
  readRows: RowReader,
  options: WriteKerasH5Options = {},
): Promise<void> {
  const name = config.name;
  checkLayerNameForFile(name, path);
  const inputName = `${name}_input`;
  const modelConfig = JSON.stringify(keras2SequentialConfig({ config, weights: new Float32Array(0) }));
  const { inputDim: rows, outputDim: cols } = config;
  const root = options.weightsOnly ? '' : 'model_weights';
  const at = (rel: string) => (root === '' ? rel : `${root}/${rel}`);
  const steps: H5BuildStep[] = [];
  if (!options.weightsOnly) {
    steps.push(
      { op: 'attr', path: '', name: 'keras_version', value: KERAS2_VERSION },
      { op: 'attr', path: '', name: 'backend', value: 'tensorflow' },
      { op: 'attr', path: '', name: 'model_config', value: modelConfig },
      { op: 'group', path: root },
    );
  }
  steps.push(
    { op: 'attr', path: root, name: 'backend', value: 'tensorflow' },
    { op: 'attr', path: root, name: 'keras_version', value: KERAS2_VERSION },
    stringListAttrStep(root, 'layer_names', options.weightsOnly ? [name] : [inputName, name]),
  );
  if (!options.weightsOnly) steps.push({ op: 'group', path: at(inputName) }, stringListAttrStep(at(inputName), 'weight_names', []));
  const dataset = at(`${name}/${name}/embeddings:0`);
  steps.push(
    { op: 'group', path: at(name) },
    stringListAttrStep(at(name), 'weight_names', [`${name}/embeddings:0`]),
    { op: 'group', path: at(`${name}/${name}`) },
    { op: 'dataset', path: dataset, shape: [rows, cols], dtype: '<f' },
  );
  await atomicWriteFiles([
    {
      path,
      write: async (temp) =>
        void (await writeH5File(temp, path, rows * cols * 4, async (writer) => {
          await writer.build(steps);
          let start = 0;
          await forEachChunk(rows, cols, readRows, async (values) => {
            const count = values.length / cols;
            await writer.writeRows(dataset, start, count, values);
            start += count;
          });
        })),
    },
  ]);
}
