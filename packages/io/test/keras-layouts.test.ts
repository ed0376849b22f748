import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import { zipSync } from 'fflate';
import type { Group, File as H5File } from 'h5wasm';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLayerConfig } from '../src/formats.js';
import { convertEmbedding, inspectModel, loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

/*
 * Layouts real tools wrote that the readers follow as general rules (see
 * src/formats/keras-layout.ts), on files these tests make themselves with h5wasm and fflate,
 * shaped as Keras 1, tf.keras, Keras 3 on Windows, and Keras 3 subclassed models write them.
 */

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-layouts-');
  await h5wasm.ready;
});
afterAll(() => tmp.cleanup());

/** A matrix whose every value is distinct and exact in float32. */
function table(rows: number, cols: number, offset = 0): Float32Array {
  return Float32Array.from({ length: rows * cols }, (_, i) => (i + offset) / 8 - 2);
}

/** A fixed-length string-list attribute, as h5py writes Keras's numpy 'S' arrays. */
function strings(node: Group, name: string, values: readonly string[]): void {
  if (values.length === 0) node.create_attribute(name, new Float64Array(0), [0], '<d');
  else node.create_attribute(name, [...values], [values.length], `A${Math.max(...values.map((v) => v.length))}`);
}

function dataset(group: Group, name: string, data: Float32Array, shape: number[]): void {
  group.create_dataset({ name, data, shape, dtype: '<f' });
}

/** Writes an HDF5 file with h5wasm and returns its path. */
function h5(name: string, fill: (file: H5File) => void): string {
  const path = join(tmp.dir, name);
  const file = new h5wasm.File(path, 'w');
  try {
    fill(file);
  } finally {
    file.close();
  }
  return path;
}

/** A .keras zip of a config.json and a model.weights.h5 made by `fill`. */
async function keras(name: string, config: unknown, fill: (file: H5File) => void): Promise<string> {
  const weights = h5(`${name}.weights.h5`, fill);
  const path = join(tmp.dir, name);
  await (await import('node:fs/promises')).writeFile(
    path,
    zipSync(
      {
        'metadata.json': new TextEncoder().encode('{"keras_version": "3.0.1"}'),
        'config.json': new TextEncoder().encode(JSON.stringify(config)),
        'model.weights.h5': new Uint8Array(await readFile(weights)),
      },
      { level: 0 },
    ),
  );
  return path;
}

async function badFileError(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(BadFileError.isInstance(error), String(error)).toBe(true);
  return error as Error;
}

describe("Keras 1.x configs (as Keras 2's legacy converter maps them)", () => {
  const keras1 = {
    name: 'embedding_1',
    trainable: true,
    batch_input_shape: [null, 10],
    input_dtype: 'int32',
    input_dim: 4,
    output_dim: 5,
    init: 'uniform',
    input_length: 10,
    mask_zero: false,
    activity_regularizer: null,
    W_regularizer: null,
    W_constraint: null,
    dropout: 0.0,
  };

  it('renames init, W_regularizer, W_constraint, input_dtype and drops dropout 0, with notes', () => {
    const { config, notes } = readLayerConfig({ class_name: 'Embedding', config: keras1 });
    const resolved = resolveConfig(config);
    expect(resolved).toMatchObject({ inputDim: 4, outputDim: 5, inputLength: 10, maskZero: false, dtype: 'float32', embeddingsDropout: 0 });
    // Keras 1's 'uniform' is U(-0.05, 0.05), Keras 2's RandomUniform default.
    expect(resolved.embeddingsInitializer).toEqual({ className: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } });
    expect(notes.join('\n')).toMatch(
      /init -> embeddings_initializer, W_regularizer -> embeddings_regularizer, W_constraint -> embeddings_constraint, input_dtype -> dtype, dropout 0 dropped/,
    );
    expect(notes.join('\n')).toMatch(/"int32".*read as float32/);
  });

  it("maps Keras 1's regularizer and constraint objects to Keras 2's", () => {
    const { config, notes } = readLayerConfig({
      ...keras1,
      init: 'normal',
      W_regularizer: { name: 'L1L2Regularizer', l1: 0.0, l2: 0.01 },
      activity_regularizer: { name: 'ActivityRegularizer', l1: 0.5, l2: 0.0 },
      W_constraint: { name: 'MaxNorm', m: 3, axis: 1 },
    });
    const resolved = resolveConfig(config);
    expect(resolved.embeddingsRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: 0.01 } });
    expect(resolved.activityRegularizer).toEqual({ className: 'L1L2', config: { l1: 0.5, l2: 0 } });
    expect(resolved.embeddingsConstraint).toEqual({ className: 'MaxNorm', config: { max_value: 3, axis: 1 } });
    expect(resolved.embeddingsInitializer.className).toBe('RandomNormal');
    expect(notes.filter((n) => /Keras 1 object/.test(n))).toHaveLength(3);
    const minmax = readLayerConfig({ ...keras1, W_constraint: { name: 'MinMaxNorm', low: 0.5, high: 2, rate: 0.5, axis: 0 } });
    expect(resolveConfig(minmax.config).embeddingsConstraint).toEqual({
      className: 'MinMaxNorm',
      config: { min_value: 0.5, max_value: 2, rate: 0.5, axis: 0 },
    });
    const nonneg = readLayerConfig({ ...keras1, W_constraint: { name: 'NonNeg' } });
    expect(resolveConfig(nonneg.config).embeddingsConstraint).toEqual({ className: 'NonNeg', config: {} });
  });

  it('dropout (no Keras 2 argument) becomes embeddings_dropout when Keras 1 applied it, and is dropped otherwise', () => {
    const on = readLayerConfig({ ...keras1, dropout: 0.25 });
    expect(resolveConfig(on.config).embeddingsDropout).toBe(0.25);
    expect(on.notes.join('\n')).toMatch(/Keras 1 dropout 0.25 read as embeddings_dropout 0.25/);
    for (const rate of [0, 1, 1.5, -0.1]) {
      const off = readLayerConfig({ ...keras1, dropout: rate });
      expect(resolveConfig(off.config).embeddingsDropout, String(rate)).toBe(0);
      expect(off.notes.join('\n')).toMatch(new RegExp(`dropout ${rate} dropped`));
    }
  });

  it('a dtype beside input_dtype wins; both spellings of another argument are refused, as Keras refuses them', () => {
    const both = readLayerConfig({ ...keras1, dtype: 'float32' });
    expect(both.config.dtype).toBe('float32');
    expect(() => readLayerConfig({ ...keras1, embeddings_initializer: 'zeros' }, 'x.h5')).toThrow(
      /both the Keras 1 key "init" and the Keras 2 key "embeddings_initializer"/,
    );
    expect(() => readLayerConfig({ ...keras1, W_regularizer: { name: 'EigenvalueRegularizer', k: 1 } }, 'x.h5')).toThrow(
      /BAD_FILE|not valid/,
    );
  });
});

describe('Keras .h5: tables found through weight_names', () => {
  it('a Keras 1.2 full model (TensorFlow: <layer>_W:0; Theano: <layer>_W)', async () => {
    for (const suffix of [':0', '']) {
      const weights = table(4, 5);
      const path = h5(`keras1${suffix ? '-tf' : '-theano'}.h5`, (f) => {
        f.create_attribute('keras_version', '1.2.2');
        f.create_attribute(
          'model_config',
          JSON.stringify({
            class_name: 'Sequential',
            config: [
              {
                class_name: 'Embedding',
                config: {
                  name: 'words',
                  input_dtype: 'int32',
                  input_dim: 4,
                  output_dim: 5,
                  init: 'uniform',
                  input_length: 7,
                  mask_zero: true,
                  W_regularizer: null,
                  W_constraint: null,
                  dropout: 0.0,
                },
              },
              { class_name: 'Dense', config: { name: 'dense_1', output_dim: 1, init: 'glorot_uniform', bias: true } },
            ],
          }),
        );
        const mw = f.create_group('model_weights');
        strings(mw, 'layer_names', ['words', 'dense_1']);
        const g = mw.create_group('words');
        strings(g, 'weight_names', [`words_W${suffix}`]);
        dataset(g, `words_W${suffix}`, weights, [4, 5]);
        const d = mw.create_group('dense_1');
        strings(d, 'weight_names', [`dense_1_W${suffix}`, `dense_1_b${suffix}`]);
        dataset(d, `dense_1_W${suffix}`, table(5, 1), [5, 1]);
        dataset(d, `dense_1_b${suffix}`, table(1, 1), [1]);
      });
      const record = await readEmbedding(path);
      expect(record.location).toBe(`model_weights/words/words_W${suffix}`);
      expect(sameBits(record.weights, weights)).toBe(true);
      expect(resolveConfig(record.config)).toMatchObject({ inputLength: 7, maskZero: true });
      expect(await inspectModel(path)).toMatchObject([{ name: 'words', inputLength: 7, maskZero: true, hasConfig: true }]);
    }
  });

  it('tf.keras names a weight after a uniquified scope (<layer>/<layer>_1/embeddings:0): weight_names says so', async () => {
    const a = table(3, 2);
    const b = table(6, 1, 100);
    const path = h5('scoped.h5', (f) => {
      f.create_attribute('keras_version', '2.2.4-tf');
      const emb = (name: string, dims: number[], mask = false) => ({
        class_name: 'Embedding',
        config: { name, input_dim: dims[0], output_dim: dims[1], mask_zero: mask, input_length: null, dtype: 'float32' },
      });
      f.create_attribute(
        'model_config',
        JSON.stringify({ class_name: 'Model', config: { layers: [emb('genre', [3, 2]), emb('uid', [6, 1], true)] } }),
      );
      const mw = f.create_group('model_weights');
      strings(mw, 'layer_names', ['genre', 'uid']);
      for (const [name, data, shape] of [
        ['genre', a, [3, 2]],
        ['uid', b, [6, 1]],
      ] as const) {
        const g = mw.create_group(name);
        strings(g, 'weight_names', [`${name}_1/embeddings:0`]);
        dataset(g.create_group(`${name}_1`), 'embeddings:0', data, [...shape]);
        // A decoy where the old rule looked: weight_names, not the path, decides.
        dataset(g, 'unrelated', new Float32Array(4), [2, 2]);
      }
    });
    const records = await readEmbeddings(path);
    expect(records.map((r) => [r.name, r.location])).toEqual([
      ['genre', 'model_weights/genre/genre_1/embeddings:0'],
      ['uid', 'model_weights/uid/uid_1/embeddings:0'],
    ]);
    expect(sameBits(records[0]!.weights, a) && sameBits(records[1]!.weights, b)).toBe(true);
    expect(records.map((r) => r.config.maskZero)).toEqual([false, true]);
  });

  it('reads weight_names that Keras split into chunks (weight_names0, weight_names1, ...)', async () => {
    const weights = table(2, 3);
    const path = h5('chunked.h5', (f) => {
      f.create_attribute(
        'model_config',
        JSON.stringify({
          class_name: 'Sequential',
          config: { layers: [{ class_name: 'Embedding', config: { name: 'e', input_dim: 2, output_dim: 3 } }] },
        }),
      );
      const mw = f.create_group('model_weights');
      strings(mw, 'layer_names0', ['e']);
      const g = mw.create_group('e');
      strings(g, 'weight_names0', ['scope/e/embeddings:0']);
      dataset(g.create_group('scope').create_group('e'), 'embeddings:0', weights, [2, 3]);
    });
    const record = await readEmbedding(path);
    expect(record.location).toBe('model_weights/e/scope/e/embeddings:0');
    expect(sameBits(record.weights, weights)).toBe(true);
  });

  it('a model_config Embedding whose weights are missing is a BadFileError naming what weight_names lists', async () => {
    const path = h5('missing.h5', (f) => {
      f.create_attribute(
        'model_config',
        JSON.stringify({
          class_name: 'Sequential',
          config: { layers: [{ class_name: 'Embedding', config: { name: 'e', input_dim: 2, output_dim: 3 } }] },
        }),
      );
      const g = f.create_group('model_weights').create_group('e');
      strings(g, 'weight_names', ['e/embeddings:0']);
    });
    const error = await badFileError(readEmbeddings(path));
    expect(error.message).toMatch(
      /lists Embedding "e" but its weights are not in the file: its group model_weights\/e lists weight_names \["e\/embeddings:0"\]/,
    );
  });
});

describe('Keras .h5 without an Embedding config: tables found by their weights', () => {
  it('a Keras 1 weights-only file (no keras_version): each layer whose only weight is <layer>_W', async () => {
    const items = table(5, 3);
    const users = table(7, 3, 50);
    const path = h5('ncf-like.h5', (f) => {
      strings(f, 'layer_names', ['item_input', 'item_embedding', 'user_embedding', 'flatten_1', 'prediction']);
      for (const name of ['item_input', 'flatten_1']) strings(f.create_group(name), 'weight_names', []);
      for (const [name, data, rows] of [
        ['item_embedding', items, 5],
        ['user_embedding', users, 7],
      ] as const) {
        const g = f.create_group(name);
        strings(g, 'weight_names', [`${name}_W`]);
        dataset(g, `${name}_W`, data, [rows, 3]);
      }
      const p = f.create_group('prediction');
      strings(p, 'weight_names', ['prediction_W', 'prediction_b']);
      dataset(p, 'prediction_W', table(3, 1), [3, 1]);
      dataset(p, 'prediction_b', table(1, 1), [1]);
    });
    const records = await readEmbeddings(path);
    expect(records.map((r) => [r.name, r.location, r.inputDim, r.outputDim])).toEqual([
      ['item_embedding', 'item_embedding/item_embedding_W', 5, 3],
      ['user_embedding', 'user_embedding/user_embedding_W', 7, 3],
    ]);
    expect(sameBits(records[1]!.weights, users)).toBe(true);
    const summary = await inspectModel(path);
    expect(summary.map((s) => [s.name, s.maskZero, s.hasConfig, 'inputLength' in s])).toEqual([
      ['item_embedding', null, false, false],
      ['user_embedding', null, false, false],
    ]);
    // Several tables and no choice: a typed error listing each with its shape and location.
    const error = await badFileError(readEmbedding(path));
    expect(error.message).toContain(
      'holds 2 Embedding layers ("item_embedding" [5, 3] at item_embedding/item_embedding_W, "user_embedding" [7, 3] at user_embedding/user_embedding_W); pass the layer name',
    );
    const layer = await loadEmbedding(path, { backend: createJsBackend(), layer: 'user_embedding', config: { maskZero: true } });
    expect(layer.config.maskZero).toBe(true);
    expect(sameBits((await layer.getWeights())[0]!, users)).toBe(true);
    expect((await inspectModel(path, { layer: 'user_embedding', config: { maskZero: true } }))[0]).toMatchObject({
      maskZero: true,
      hasConfig: false,
    });
  });

  it('a Keras 3 legacy .h5 of a subclassed model (model_config without a layer list): model_weights/<layer>/<model>/<layer>/embeddings', async () => {
    const users = table(6, 4);
    const movies = table(9, 4, 30);
    const path = h5('subclassed.h5', (f) => {
      f.create_attribute('keras_version', '3.3.3');
      f.create_attribute('backend', 'tensorflow');
      f.create_attribute(
        'model_config',
        JSON.stringify({
          module: null,
          class_name: 'RecommenderNet',
          config: { num_users: 6, num_movies: 9, embedding_size: 4, trainable: true, dtype: 'float32' },
          registered_name: 'RecommenderNet',
        }),
      );
      const mw = f.create_group('model_weights');
      strings(mw, 'layer_names', ['embedding', 'embedding_1', 'dense']);
      for (const [name, data, rows] of [
        ['embedding', users, 6],
        ['embedding_1', movies, 9],
      ] as const) {
        const g = mw.create_group(name);
        strings(g, 'weight_names', [`recommender_net/${name}/embeddings`]);
        dataset(g.create_group('recommender_net').create_group(name), 'embeddings', data, [rows, 4]);
      }
      const d = mw.create_group('dense');
      strings(d, 'weight_names', ['recommender_net/dense/kernel', 'recommender_net/dense/bias']);
      const dg = d.create_group('recommender_net').create_group('dense');
      dataset(dg, 'kernel', table(8, 1), [8, 1]);
      dataset(dg, 'bias', table(1, 1), [1]);
      strings(mw.create_group('top_level_model_weights'), 'weight_names', []);
    });
    const records = await readEmbeddings(path);
    expect(records.map((r) => [r.name, r.location, r.inputDim, r.outputDim, r.sourceConfig])).toEqual([
      ['embedding', 'model_weights/embedding/recommender_net/embedding/embeddings', 6, 4, null],
      ['embedding_1', 'model_weights/embedding_1/recommender_net/embedding_1/embeddings', 9, 4, null],
    ]);
    expect(records[0]!.notes.join(' ')).toMatch(/subclassed model/);
    expect(sameBits((await readEmbedding(path, { layer: 'embedding_1' })).weights, movies)).toBe(true);
    // The location as `inspect` lists it picks a table too.
    expect((await readEmbedding(path, { layer: 'model_weights/embedding/recommender_net/embedding/embeddings' })).name).toBe('embedding');
    const error = await badFileError(readEmbedding(path, { layer: 'user_embedding' }));
    expect(error.message).toMatch(
      /no Embedding layer named "user_embedding"; the file holds: "embedding" \[6, 4\] at model_weights\/embedding\/recommender_net\/embedding\/embeddings, "embedding_1" \[9, 4\]/,
    );
  });

  it('a model_config without an Embedding and no table-like weights is still "no Embedding layer"', async () => {
    const path = h5('dense-only.h5', (f) => {
      f.create_attribute(
        'model_config',
        JSON.stringify({ class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { name: 'd' } }] } }),
      );
      const g = f.create_group('model_weights').create_group('d');
      strings(g, 'weight_names', ['d/kernel:0']);
      dataset(g.create_group('d'), 'kernel:0', table(2, 2), [2, 2]);
    });
    expect((await badFileError(readEmbeddings(path))).message).toMatch(
      /the model holds no Embedding layer \(model_config has no layer with class_name "Embedding"\)/,
    );
  });
});

/** A Keras 3 Sequential config.json holding one Embedding (optionally without build_config). */
function keras3Sequential(name: string, dims: [number, number], batchShape: (number | null)[], buildConfig = true): unknown {
  const emb: Record<string, unknown> = {
    module: 'keras.layers',
    class_name: 'Embedding',
    config: { name, trainable: true, dtype: 'float32', input_dim: dims[0], output_dim: dims[1], mask_zero: false },
    registered_name: null,
  };
  if (buildConfig) emb.build_config = { input_shape: batchShape };
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      layers: [
        {
          module: 'keras.layers',
          class_name: 'InputLayer',
          config: { batch_shape: batchShape, dtype: 'int32', name: 'input_layer' },
          registered_name: null,
        },
        emb,
      ],
    },
    registered_name: null,
  };
}

describe('Keras 3 .keras layouts', () => {
  it('written on Windows: the weight groups are literally named layers\\embedding (with or without a name attribute)', async () => {
    for (const named of [true, false]) {
      const weights = table(5, 2);
      const path = await keras(`windows-${named}.keras`, keras3Sequential('tokens', [5, 2], [null, 12]), (f) => {
        const vars = f.create_group('layers\\embedding').create_group('vars');
        if (named) vars.create_attribute('name', 'tokens');
        dataset(vars, '0', weights, [5, 2]);
        f.create_group('vars');
      });
      const record = await readEmbedding(path);
      expect(record.name).toBe('tokens');
      expect(record.location).toBe('model.weights.h5:layers\\embedding/vars/0');
      expect(sameBits(record.weights, weights)).toBe(true);
      expect(record.config.inputLength).toBe(12);
    }
  });

  it('tf-keras 2.13 wrote _layer_checkpoint_dependencies where Keras 3 writes layers', async () => {
    const weights = table(3, 3);
    const path = await keras('tf213.keras', keras3Sequential('e', [3, 3], [null, null]), (f) => {
      dataset(f.create_group('_layer_checkpoint_dependencies').create_group('embedding').create_group('vars'), '0', weights, [3, 3]);
    });
    const record = await readEmbedding(path);
    expect(record.location).toBe('model.weights.h5:_layer_checkpoint_dependencies/embedding/vars/0');
    expect(sameBits(record.weights, weights)).toBe(true);
    expect(record.config.inputLength).toBeUndefined();
  });

  it('a subclassed model (config.json without a layer list): every layers/embedding[_n]/vars/0, then --layer picks one', async () => {
    const tables = [table(6, 3), table(8, 3, 20), table(6, 1, 40)];
    const config = {
      module: null,
      class_name: 'RecommenderNet',
      config: { num_users: 6, num_movies: 8, embedding_size: 3 },
      registered_name: 'RecommenderNet',
      build_config: { input_shape: [null, 2] },
    };
    for (const named of [true, false]) {
      const path = await keras(`subclassed-${named}.keras`, config, (f) => {
        const layers = f.create_group('layers');
        tables.forEach((t, i) => {
          const vars = layers.create_group(i === 0 ? 'embedding' : `embedding_${i}`).create_group('vars');
          if (named) vars.create_attribute('name', ['user_embedding', 'movie_embedding', 'user_bias'][i]!);
          dataset(vars, '0', t, [t === tables[1] ? 8 : 6, t === tables[2] ? 1 : 3]);
        });
        const dense = layers.create_group('dense').create_group('vars');
        dataset(dense, '0', table(3, 1), [3, 1]);
        f.create_group('vars');
      });
      const names = named
        ? ['user_embedding', 'movie_embedding', 'user_bias']
        : ['layers/embedding', 'layers/embedding_1', 'layers/embedding_2'];
      const summary = await inspectModel(path);
      expect(summary.map((s) => [s.name, s.inputDim, s.outputDim, s.maskZero, s.location])).toEqual([
        [names[0], 6, 3, null, 'model.weights.h5:layers/embedding/vars/0'],
        [names[1], 8, 3, null, 'model.weights.h5:layers/embedding_1/vars/0'],
        [names[2], 6, 1, null, 'model.weights.h5:layers/embedding_2/vars/0'],
      ]);
      const error = await badFileError(readEmbedding(path));
      expect(error.message).toMatch(
        /holds 3 Embedding layers .*pass the layer name: the layer option \(--layer NAME on the command line\)/,
      );
      const picked = await readEmbedding(path, { layer: names[1] });
      expect(sameBits(picked.weights, tables[1]!)).toBe(true);
      expect(picked.notes.join(' ')).toMatch(/subclassed model/);
      const out = join(tmp.dir, `picked-${named}.npy`);
      await convertEmbedding(path, out, { layer: names[2] });
      expect(sameBits((await readEmbedding(out)).weights, tables[2]!)).toBe(true);
    }
  });

  it("input_length from a Keras 3 InputLayer's fixed shape: build_config, the called tensor's shape, or the InputLayer before it", async () => {
    const weights = table(4, 2);
    const write = (f: H5File) => {
      const vars = f.create_group('layers').create_group('embedding').create_group('vars');
      vars.create_attribute('name', 'e');
      dataset(vars, '0', weights, [4, 2]);
    };
    // Sequential without build_config: the InputLayer right before the Embedding.
    const seq = await keras('seq.keras', keras3Sequential('e', [4, 2], [null, 9], false), write);
    const record = await readEmbedding(seq);
    expect(record.config.inputLength).toBe(9);
    expect(record.notes.join(' ')).toMatch(/input_length 9 from the batch_shape of InputLayer "input_layer" \[null,9\]/);
    // Functional: the shape of the Keras tensor the layer was called on (several axes).
    const functional = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'f',
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { batch_shape: [null, 3, 5], name: 'ids' },
            name: 'ids',
            inbound_nodes: [],
          },
          {
            module: 'keras.layers',
            class_name: 'Embedding',
            config: { name: 'e', input_dim: 4, output_dim: 2 },
            name: 'e',
            inbound_nodes: [
              {
                args: [{ class_name: '__keras_tensor__', config: { shape: [null, 3, 5], dtype: 'int32', keras_history: ['ids', 0, 0] } }],
                kwargs: {},
              },
            ],
          },
        ],
      },
    };
    const fn = await keras('functional.keras', functional, write);
    expect((await readEmbedding(fn)).config.inputLength).toEqual([3, 5]);
    expect((await inspectModel(fn))[0]).toMatchObject({ inputLength: [3, 5], maskZero: false });
    // Converting keeps it: the Keras 2 .h5 gets input_length, and back to .keras it is the InputLayer's batch_shape again.
    const h5out = join(tmp.dir, 'seq-to.h5');
    await convertEmbedding(seq, h5out);
    const back = await readEmbedding(h5out);
    expect((back.sourceConfig as { input_length: unknown }).input_length).toBe(9);
    const kout = join(tmp.dir, 'seq-to.keras');
    await saveEmbedding(kout, back);
    expect((await readEmbedding(kout)).config.inputLength).toBe(9);
  });
});
