import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import { strFromU8, unzipSync, zipSync } from 'fflate';
import type { Dataset, Group } from 'h5wasm';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kerasSnakeCase } from '../src/formats.js';
import { loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { describeShared, REAL, realPath, rowStart, sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
  await h5wasm.ready;
});
afterAll(() => tmp.cleanup());

describeShared('real', 'Keras 3 .keras: the real Keras 3.10 file', () => {
  const fx = REAL.keras3;

  it('reads the real Keras 3.10 file: embedding_1 stored under layers/embedding, with the documented rows', async () => {
    const record = await readEmbedding(realPath(fx));
    expect(record.format).toBe('keras');
    expect(record.name).toBe('embedding_1');
    expect(record.location).toBe('model.weights.h5:layers/embedding/vars/0');
    expect([record.inputDim, record.outputDim]).toEqual([10000, 16]);
    for (let r = 0; r < 3; r++) expect(rowStart(record.weights, 16, r, 5)).toEqual(fx.rows[r]);
    // Keras 3 has no input_length: the InputLayer's batch_shape [null, 256] (and build_config) give it.
    expect(record.config.inputLength).toBe(256);
    expect(record.notes.join(' ')).toMatch(/input_length 256 from the layer's build_config input_shape \[null,256\]/);
    expect(resolveConfig(record.config).embeddingsInitializer).toEqual({
      className: 'RandomUniform',
      config: { seed: null, minval: -0.05, maxval: 0.05 },
    });
    const layer = await loadEmbedding(realPath(fx), { backend: createJsBackend() });
    expect(layer.config.inputLength).toBe(256);
    const out = await layer.predict([Array.from({ length: 256 }, (_, i) => (i < 2 ? i + 1 : 0))]);
    expect(Array.from((out.data as Float32Array).subarray(16, 21))).toEqual(fx.rows[2]);
  });

  it('round-trips the real file bit-exactly through our writer', async () => {
    const record = await readEmbedding(realPath(fx));
    const path = join(tmp.dir, 'rt.keras');
    await saveEmbedding(path, record);
    const back = await readEmbedding(path);
    expect(back.name).toBe('embedding_1');
    expect(sameBits(back.weights, record.weights)).toBe(true);
    expect(resolveConfig(back.config)).toEqual(resolveConfig(record.config));
  });
});

describe('Keras 3 .keras', () => {
  it('writes config.json, metadata.json and model.weights.h5 as Keras 3 does', async () => {
    const path = join(tmp.dir, 'layout.keras');
    const weights = Float32Array.from({ length: 8 }, (_, i) => i - 3.5);
    await saveEmbedding(path, {
      config: {
        inputDim: 4,
        outputDim: 2,
        name: 'tok',
        maskZero: true,
        inputLength: 6,
        embeddingsRegularizer: 'l2',
        embeddingsInitializer: { class_name: 'RandomUniform', config: { minval: -1, maxval: 1, dtype: 'float32' } },
      },
      weights,
    });
    const members = unzipSync(new Uint8Array(await readFile(path)));
    expect(Object.keys(members).sort()).toEqual(['config.json', 'metadata.json', 'model.weights.h5']);
    const meta = JSON.parse(strFromU8(members['metadata.json']!));
    expect(meta.keras_version).toMatch(/^3\./);
    expect(meta.date_saved).toMatch(/^\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d$/);
    const config = JSON.parse(strFromU8(members['config.json']!));
    expect(config).toMatchObject({ module: 'keras', class_name: 'Sequential', build_config: { input_shape: [null, 6] } });
    const [input, emb] = config.config.layers;
    expect(input).toMatchObject({ class_name: 'InputLayer', config: { batch_shape: [null, 6] } });
    expect(emb).toEqual({
      module: 'keras.layers',
      class_name: 'Embedding',
      registered_name: null,
      build_config: { input_shape: [null, 6] },
      config: {
        name: 'tok',
        trainable: true,
        dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null },
        input_dim: 4,
        output_dim: 2,
        embeddings_initializer: {
          module: 'keras.initializers',
          class_name: 'RandomUniform',
          config: { minval: -1, maxval: 1, seed: null },
          registered_name: null,
        },
        embeddings_regularizer: { module: 'keras.regularizers', class_name: 'L2', config: { l2: 0.01 }, registered_name: null },
        activity_regularizer: null,
        embeddings_constraint: null,
        mask_zero: true,
      },
    });
    const h5path = join(tmp.dir, 'w.h5');
    await writeFile(h5path, members['model.weights.h5']!);
    const f = new h5wasm.File(h5path, 'r');
    try {
      expect((f.get('layers/embedding/vars') as Group).attrs.name!.json_value).toBe('tok');
      const ds = f.get('layers/embedding/vars/0') as Dataset;
      expect(ds.shape).toEqual([4, 2]);
      expect(sameBits(ds.value as Float32Array, weights)).toBe(true);
    } finally {
      f.close();
    }
  });

  it('finds weights by Keras 3 class-based naming when vars groups carry no name attribute', async () => {
    const h5path = join(tmp.dir, 'noname.h5');
    const f = new h5wasm.File(h5path, 'w');
    const layers = f.create_group('layers');
    layers
      .create_group('dense')
      .create_group('vars')
      .create_dataset({ name: '0', data: new Float32Array(4), shape: [2, 2], dtype: '<f' });
    layers
      .create_group('embedding')
      .create_group('vars')
      .create_dataset({ name: '0', data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2], dtype: '<f' });
    layers
      .create_group('embedding_1')
      .create_group('vars')
      .create_dataset({ name: '0', data: new Float32Array([7, 8, 9, 10]), shape: [2, 2], dtype: '<f' });
    f.close();
    const emb = (name: string, dims: [number, number]) => ({
      module: 'keras.layers',
      class_name: 'Embedding',
      config: { name, input_dim: dims[0], output_dim: dims[1] },
    });
    const config = {
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'InputLayer', config: { name: 'in' } },
          emb('words', [3, 2]),
          { class_name: 'Dense', config: { name: 'd' } },
          emb('chars', [2, 2]),
        ],
      },
    };
    const path = join(tmp.dir, 'noname.keras');
    await writeFile(
      path,
      zipSync({
        'config.json': new TextEncoder().encode(JSON.stringify(config)),
        'model.weights.h5': new Uint8Array(await readFile(h5path)),
      }),
    );
    const records = await readEmbeddings(path);
    expect(records.map((r) => [r.name, r.location, Array.from(r.weights)])).toEqual([
      ['words', 'model.weights.h5:layers/embedding/vars/0', [1, 2, 3, 4, 5, 6]],
      ['chars', 'model.weights.h5:layers/embedding_1/vars/0', [7, 8, 9, 10]],
    ]);
    expect(kerasSnakeCase('GlobalAveragePooling1D')).toBe('global_average_pooling1d');
  });

  it('rejects damaged zips and archives without config or weights', async () => {
    const own = join(tmp.dir, 'own.keras');
    await saveEmbedding(own, { config: { inputDim: 300, outputDim: 64, name: 'own' }, weights: new Float32Array(300 * 64).fill(0.5) });
    const bytes = new Uint8Array(await readFile(own));
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated.keras', bytes.subarray(0, bytes.length >> 1), /damaged or truncated|no model.weights.h5|no config.json/],
      ['notzip.keras', new TextEncoder().encode('hello'), /zip|unknown file format/],
      ['noweights.keras', zipSync({ 'config.json': unzipSync(bytes)['config.json']! }), /no model\.weights\.h5/],
      [
        'nodense.keras',
        zipSync({ 'config.json': new TextEncoder().encode('{"class_name":"Sequential","config":{"layers":[]}}') }),
        /no Embedding layer/,
      ],
    ];
    for (const [name, content, message] of cases) {
      const path = join(tmp.dir, name);
      await writeFile(path, content);
      const error = await readEmbeddings(path).then(
        () => null,
        (e: unknown) => e,
      );
      expect(BadFileError.isInstance(error), `${name}: ${String(error)}`).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message.startsWith(path)).toBe(true);
    }
  });
});
