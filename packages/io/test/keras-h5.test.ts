import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import type { Dataset, Group } from 'h5wasm';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { describeShared, REAL, realPath, rowStart, sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
  await h5wasm.ready;
});
afterAll(() => tmp.cleanup());

describeShared('real', 'Keras 2 .h5: real files', () => {
  for (const key of ['misc0', 'conv1d'] as const) {
    const fx = REAL[key];
    it(`${fx.file}: reads ${fx.layer} with the documented rows and round-trips bit-exactly`, async () => {
      const record = await readEmbedding(realPath(fx));
      expect(record.format).toBe('keras-h5');
      expect(record.name).toBe(fx.layer);
      expect([record.inputDim, record.outputDim]).toEqual([fx.inputDim, fx.outputDim]);
      expect(record.location).toBe(`model_weights/${fx.layer}/${fx.layer}/embeddings:0`);
      for (let r = 0; r < 3; r++) expect(rowStart(record.weights, fx.outputDim, r, 5)).toEqual(fx.rows[r]);
      const out = join(tmp.dir, `${key}.h5`);
      await saveEmbedding(out, record);
      const back = await readEmbedding(out);
      expect(sameBits(back.weights, record.weights)).toBe(true);
      expect(resolveConfig(back.config)).toEqual(resolveConfig(record.config));
    });
  }

  it('misc_0.h5 keeps the initializer dtype key and input_length null', async () => {
    const record = await readEmbedding(realPath(REAL.misc0));
    const config = resolveConfig(record.config);
    expect(config.embeddingsInitializer).toEqual({
      className: 'RandomUniform',
      config: { minval: -0.05, maxval: 0.05, seed: null, dtype: 'float32' },
    });
    expect(config.inputLength).toBeNull();
  });

  it('the Keras 2.1.3 Sequential file keeps input_length 10', async () => {
    const record = await readEmbedding(realPath(REAL.conv1d));
    expect(record.config.inputLength).toBe(10);
    expect((record.sourceConfig as { batch_input_shape: unknown }).batch_input_shape).toEqual([null, 10]);
  });

  it('reads the Keras 2.1.5 weights-only file, dims from the dataset or from the caller', async () => {
    const fx = REAL.textgenrnn;
    const record = await readEmbedding(realPath(fx));
    expect(record.name).toBe('embedding');
    expect(record.sourceConfig).toBeNull();
    expect([record.inputDim, record.outputDim]).toEqual([465, 100]);
    for (let r = 0; r < 3; r++) expect(rowStart(record.weights, 100, r, 5)).toEqual(fx.rows[r]);
    const layer = await loadEmbedding(realPath(fx), {
      backend: createJsBackend(),
      config: { inputDim: 465, outputDim: 100, inputLength: 40 },
    });
    expect(layer.config.inputLength).toBe(40);
    const out = await layer.predict([Array.from({ length: 40 }, (_, i) => (i === 0 ? 2 : 0))]);
    expect(Array.from((out.data as Float32Array).subarray(0, 5))).toEqual(fx.rows[2]);
    await expect(readEmbeddings(realPath(fx), { config: { inputDim: 100, outputDim: 465 } })).rejects.toThrow(/shape \[465, 100\]/);
    const w = join(tmp.dir, 'weights-only.h5');
    await saveEmbedding(w, record, { weightsOnly: true });
    const back = await readEmbedding(w);
    expect(back.sourceConfig).toBeNull();
    expect(sameBits(back.weights, record.weights)).toBe(true);
  });
});

describe('Keras 2 .h5: our layout', () => {
  it('writes the attrs and groups Keras 2 writes', async () => {
    const path = join(tmp.dir, 'layout.h5');
    const weights = Float32Array.from({ length: 6 }, (_, i) => i / 7);
    await saveEmbedding(path, { config: { inputDim: 3, outputDim: 2, name: 'tok', inputLength: 4, maskZero: true }, weights });
    const f = new h5wasm.File(path, 'r');
    try {
      expect(f.attrs.keras_version!.json_value).toBe('2.15.0');
      expect(f.attrs.backend!.json_value).toBe('tensorflow');
      const modelConfig = JSON.parse(f.attrs.model_config!.json_value as string);
      expect(modelConfig.class_name).toBe('Sequential');
      const emb = modelConfig.config.layers[1];
      expect(emb).toMatchObject({
        class_name: 'Embedding',
        config: { name: 'tok', input_dim: 3, output_dim: 2, mask_zero: true, input_length: 4, batch_input_shape: [null, 4] },
      });
      const mw = f.get('model_weights') as Group;
      expect(mw.attrs.layer_names!.json_value).toEqual(['tok_input', 'tok']);
      expect((f.get('model_weights/tok') as Group).attrs.weight_names!.json_value).toEqual(['tok/embeddings:0']);
      const ds = f.get('model_weights/tok/tok/embeddings:0') as Dataset;
      expect(ds.shape).toEqual([3, 2]);
      expect(ds.dtype).toBe('<f');
      expect(sameBits(ds.value as Float32Array, weights)).toBe(true);
    } finally {
      f.close();
    }
  });

  it('normalizes TF 1.x legacy values (layer dtype int32, RandomUniform maxval null) and notes them', async () => {
    const path = join(tmp.dir, 'legacy.h5');
    const f = new h5wasm.File(path, 'w');
    const legacy = {
      name: 'emb',
      trainable: true,
      batch_input_shape: [null, 5],
      dtype: 'int32',
      input_dim: 4,
      output_dim: 2,
      embeddings_initializer: { class_name: 'RandomUniform', config: { minval: 0, maxval: null, seed: null, dtype: 'float32' } },
      embeddings_regularizer: null,
      activity_regularizer: null,
      embeddings_constraint: null,
      mask_zero: false,
      input_length: 5,
    };
    f.create_attribute('keras_version', '2.1.6-tf');
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('model_config', JSON.stringify({ class_name: 'Sequential', config: [{ class_name: 'Embedding', config: legacy }] }));
    const g = f.create_group('model_weights').create_group('emb');
    g.create_attribute('weight_names', ['emb/embeddings:0'], [1], 'A16');
    g.create_group('emb').create_dataset({ name: 'embeddings:0', data: new Float32Array(8).fill(0.25), shape: [4, 2], dtype: '<f' });
    f.close();
    const record = await readEmbedding(path);
    expect(record.config.dtype).toBe('float32');
    expect(resolveConfig(record.config).embeddingsInitializer.config).toEqual({ minval: 0, maxval: 1, seed: null, dtype: 'float32' });
    expect(record.notes.join(' ')).toMatch(/int32.*maxval null/s);
    expect(record.sourceConfig).toEqual(legacy);
  });
});

describe('Keras 2 .h5: nested models', () => {
  it('finds the weights of an Embedding inside a sub-model (model_weights/<sub>/<layer>/embeddings:0)', async () => {
    const path = join(tmp.dir, 'nested.h5');
    const f = new h5wasm.File(path, 'w');
    const emb = (name: string, dims: [number, number]) => ({
      class_name: 'Embedding',
      config: { name, input_dim: dims[0], output_dim: dims[1], dtype: 'float32' },
    });
    f.create_attribute(
      'model_config',
      JSON.stringify({
        class_name: 'Functional',
        config: { layers: [{ class_name: 'Sequential', config: { name: 'tower', layers: [emb('words', [2, 2])] } }, emb('chars', [3, 1])] },
      }),
    );
    const mw = f.create_group('model_weights');
    mw.create_group('tower')
      .create_group('words')
      .create_dataset({ name: 'embeddings:0', data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: '<f' });
    mw.create_group('chars')
      .create_group('chars')
      .create_dataset({ name: 'embeddings:0', data: new Float32Array([5, 6, 7]), shape: [3, 1], dtype: '<f' });
    f.close();
    const records = await readEmbeddings(path);
    expect(records.map((r) => [r.name, r.location, Array.from(r.weights)])).toEqual([
      ['words', 'model_weights/tower/words/embeddings:0', [1, 2, 3, 4]],
      ['chars', 'model_weights/chars/chars/embeddings:0', [5, 6, 7]],
    ]);
    await expect(readEmbedding(path)).rejects.toThrow(
      /2 Embedding layers \("words" \[2, 2\] at model_weights\/tower\/words\/embeddings:0, "chars" \[3, 1\] at model_weights\/chars\/chars\/embeddings:0\); pass the layer name/,
    );
    expect((await readEmbedding(path, { layer: 'chars' })).inputDim).toBe(3);
  });
});

describe('Keras 2 .h5: bad files', () => {
  async function expectBad(path: string, message: RegExp) {
    let error: unknown;
    try {
      await readEmbeddings(path);
    } catch (e) {
      error = e;
    }
    expect(BadFileError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message.startsWith(path)).toBe(true);
    expect((error as Error).message).toMatch(message);
  }

  it('wrong magic and truncation', async () => {
    const wrong = join(tmp.dir, 'wrong.h5');
    await writeFile(wrong, 'this is not an HDF5 file, just text with an .h5 name');
    await expectBad(wrong, /not an HDF5 file/);
    const own = join(tmp.dir, 'own.h5');
    await saveEmbedding(own, { config: { inputDim: 10, outputDim: 8, name: 'own' }, weights: new Float32Array(80).fill(0.5) });
    const bytes = new Uint8Array(await (await import('node:fs/promises')).readFile(own));
    const truncated = join(tmp.dir, 'truncated.h5');
    await writeFile(truncated, bytes.subarray(0, bytes.length >> 1));
    await expectBad(truncated, /HDF5|truncated|damaged/);
  });

  it('a model without an Embedding, and datasets of the wrong shape or dtype', async () => {
    const noEmb = join(tmp.dir, 'no-embedding.h5');
    let f = new h5wasm.File(noEmb, 'w');
    f.create_attribute(
      'model_config',
      JSON.stringify({ class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { name: 'd' } }] } }),
    );
    f.close();
    await expectBad(noEmb, /no Embedding layer/);

    const noWeights = join(tmp.dir, 'empty-weights.h5');
    f = new h5wasm.File(noWeights, 'w');
    f.create_attribute('layer_names', ['dense'], [1], 'A5');
    f.create_group('dense')
      .create_group('dense')
      .create_dataset({ name: 'kernel:0', data: new Float32Array(4), shape: [2, 2], dtype: '<f' });
    f.close();
    await expectBad(noWeights, /no Embedding layer/);

    const wrongShape = join(tmp.dir, 'wrong-shape.h5');
    f = new h5wasm.File(wrongShape, 'w');
    f.create_group('e')
      .create_group('e')
      .create_dataset({ name: 'embeddings:0', data: new Float32Array(6), shape: [6], dtype: '<f' });
    f.close();
    await expectBad(wrongShape, /2-D.*\[6\]/);

    const wrongDtype = join(tmp.dir, 'wrong-dtype.h5');
    f = new h5wasm.File(wrongDtype, 'w');
    f.create_group('e')
      .create_group('e')
      .create_dataset({ name: 'embeddings:0', data: new Int32Array(6), shape: [3, 2], dtype: '<i' });
    f.close();
    await expectBad(wrongDtype, /float16, float32 or float64/);

    const mismatch = join(tmp.dir, 'mismatch.h5');
    await saveEmbedding(mismatch, { config: { inputDim: 10, outputDim: 8, name: 'embedding' }, weights: new Float32Array(80).fill(0.5) });
    const g = new h5wasm.File(mismatch, 'a');
    const cfg = JSON.parse(g.attrs.model_config!.json_value as string);
    cfg.config.layers[1].config.input_dim = 11;
    g.delete_attribute('model_config');
    g.create_attribute('model_config', JSON.stringify(cfg));
    g.close();
    await expectBad(mismatch, /shape \[10, 8\].*input_dim 11/);
  });
});
