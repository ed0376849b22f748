import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { describeShared, REAL, realPath, rowStart, sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
  await tf.setBackend('cpu');
});
afterAll(() => tmp.cleanup());

/** TF.js's own loader (tf.loadLayersModel over HTTP), served from disk: it reads model.json and its shards itself. */
async function tfLoad(modelJson: string): Promise<tf.LayersModel> {
  const dir = join(modelJson, '..');
  const fetchFunc = async (url: string | URL | Request) => {
    const file = join(dir, decodeURIComponent(new URL(String(url instanceof Request ? url.url : url)).pathname.slice('/m/'.length)));
    return new Response(await readFile(file), { status: 200 });
  };
  return tf.loadLayersModel(`http://local/m/${join(modelJson).slice(dir.length + 1)}`, { fetchFunc });
}

describeShared('real', 'TF.js model.json: the real converter output', () => {
  const fx = REAL.tfjs;

  it('reads the real converter output: the embedding starts at byte 170148 of its shard', async () => {
    const record = await readEmbedding(realPath(fx));
    expect(record.format).toBe('tfjs');
    expect(record.name).toBe('embedding');
    expect(record.location).toBe('embedding/embeddings (group1-shard1of1.bin at byte 170148)');
    expect([record.inputDim, record.outputDim, record.storedBytes]).toEqual([6000, 128, 3072000]);
    for (let r = 0; r < 3; r++) expect(rowStart(record.weights, 128, r, 5)).toEqual(fx.rows[r]);
  });

  it('matches what TF.js itself loads from the real file', async () => {
    const model = await tfLoad(realPath(fx));
    const tfWeights = (await model.getLayer('embedding').getWeights()[0]!.data()) as Float32Array;
    const record = await readEmbedding(realPath(fx));
    expect(sameBits(record.weights, tfWeights)).toBe(true);
    model.dispose();
  });

  it('round-trips the real file through our writer; TF.js loads ours and predicts the same as our layer', async () => {
    const record = await readEmbedding(realPath(fx));
    const out = join(tmp.dir, 'rt', 'model.json');
    await (await import('node:fs/promises')).mkdir(join(tmp.dir, 'rt'));
    await saveEmbedding(out, record);
    const back = await readEmbedding(out);
    expect(sameBits(back.weights, record.weights)).toBe(true);
    expect(resolveConfig(back.config)).toEqual(resolveConfig(record.config));
    // 3072000 bytes < 4 MiB: one shard.
    expect((await stat(join(tmp.dir, 'rt', 'group1-shard1of1.bin'))).size).toBe(3072000);

    const model = await tfLoad(out);
    const ids = [[0, 1, 2, 5999, 17]];
    const tfOut = (await (model.predict(tf.tensor2d(ids, [1, 5], 'int32')) as tf.Tensor).data()) as Float32Array;
    const layer = await loadEmbedding(out, { backend: createJsBackend() });
    const ours = (await layer.predict(ids)).data as Float32Array;
    expect(sameBits(ours, tfOut)).toBe(true);
    model.dispose();
  });

  it('a Keras 2 .h5 embedding (initializer with a dtype key) saved as model.json loads in TF.js', async () => {
    const record = await readEmbedding(realPath(REAL.misc0));
    const dir = join(tmp.dir, 'from-h5');
    await (await import('node:fs/promises')).mkdir(dir);
    await saveEmbedding(join(dir, 'model.json'), record);
    const model = await tfLoad(join(dir, 'model.json'));
    const tfOut = (await (model.predict(tf.tensor2d([[2, 0, 9]], [1, 3], 'int32')) as tf.Tensor).data()) as Float32Array;
    expect(Array.from(tfOut.subarray(0, 5))).toEqual(REAL.misc0.rows[2]);
    expect(Array.from(tfOut.subarray(8, 13))).toEqual(REAL.misc0.rows[0]);
    model.dispose();
  });
});

describe('TF.js model.json', () => {
  it('reads a model saved by TF.js itself (model.save: TF.js dialect, VarianceScaling, L1L2, MaxNorm)', async () => {
    const m = tf.sequential();
    m.add(
      tf.layers.embedding({
        inputDim: 7,
        outputDim: 3,
        inputLength: 4,
        maskZero: true,
        embeddingsInitializer: 'glorotUniform',
        embeddingsRegularizer: tf.regularizers.l2({ l2: 0.02 }),
        embeddingsConstraint: tf.constraints.maxNorm({ maxValue: 2 }),
      }),
    );
    const dir = join(tmp.dir, 'tfjs-native');
    await (await import('node:fs/promises')).mkdir(dir);
    await m.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightData = artifacts.weightData as ArrayBuffer;
        await writeFile(join(dir, 'weights.bin'), new Uint8Array(weightData));
        const json = {
          format: 'layers-model',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        await writeFile(join(dir, 'model.json'), JSON.stringify(json));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const layerName = m.layers[0]!.name;
    const record = await readEmbedding(join(dir, 'model.json'));
    expect(record.name).toBe(layerName);
    expect(sameBits(record.weights, (await m.layers[0]!.getWeights()[0]!.data()) as Float32Array)).toBe(true);
    const config = resolveConfig(record.config);
    expect(config).toMatchObject({ inputDim: 7, outputDim: 3, inputLength: 4, maskZero: true });
    expect(config.embeddingsInitializer).toEqual({
      className: 'VarianceScaling',
      config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null },
    });
    expect(config.embeddingsRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: 0.02 } });
    expect(config.embeddingsConstraint).toEqual({ className: 'MaxNorm', config: { max_value: 2, axis: 0 } });
    m.dispose();
  });

  it('writes several shards when the matrix is larger than shardBytes, and TF.js loads them', async () => {
    const weights = Float32Array.from({ length: 50 * 7 }, (_, i) => Math.fround(Math.cos(i) / 3));
    const path = join(tmp.dir, 'sharded.json');
    const config = {
      inputDim: 50,
      outputDim: 7,
      name: 'tok',
      maskZero: true,
      inputLength: 3,
      embeddingsInitializer: 'lecun_uniform',
      embeddingsRegularizer: 'l1',
    };
    await saveEmbedding(path, { config, weights }, { shardBytes: 400 });
    const json = JSON.parse(await readFile(path, 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual([
      'sharded.group1-shard1of4.bin',
      'sharded.group1-shard2of4.bin',
      'sharded.group1-shard3of4.bin',
      'sharded.group1-shard4of4.bin',
    ]);
    const emb = json.modelTopology.model_config.config.layers[0].config;
    expect(emb.embeddings_initializer.class_name).toBe('LeCunUniform');
    expect(emb.embeddings_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0.01, l2: 0 } });
    const back = await readEmbedding(path);
    expect(sameBits(back.weights, weights)).toBe(true);
    const model = await tfLoad(path);
    const layer = model.getLayer('tok');
    expect(layer.getConfig().maskZero).toBe(true);
    expect(sameBits((await layer.getWeights()[0]!.data()) as Float32Array, weights)).toBe(true);
    const mask = layer.computeMask(tf.tensor2d([[0, 3, 0]], [1, 3], 'int32')) as tf.Tensor;
    expect(Array.from(await mask.data())).toEqual([0, 1, 0]);
    model.dispose();
  });

  for (const quantize of ['uint8', 'uint16', 'float16'] as const) {
    it(`reads ${quantize}-quantized weights exactly as tf.io.decodeWeights does`, async () => {
      const weights = Float32Array.from({ length: 40 * 6 }, (_, i) => Math.fround(Math.sin(i * 0.37) * 0.2 - 0.03));
      const dir = join(tmp.dir, `q-${quantize}`);
      await (await import('node:fs/promises')).mkdir(dir);
      const path = join(dir, 'model.json');
      await saveEmbedding(path, { config: { inputDim: 40, outputDim: 6, name: 'q' }, weights }, { quantize });
      const json = JSON.parse(await readFile(path, 'utf8'));
      const specs = json.weightsManifest[0].weights;
      expect(specs[0].quantization.dtype).toBe(quantize);
      const shard = new Uint8Array(await readFile(join(dir, json.weightsManifest[0].paths[0])));
      const decoded = tf.io.decodeWeights(shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength), specs);
      const expected = (await decoded['q/embeddings']!.data()) as Float32Array;
      const record = await readEmbedding(path);
      expect(record.storedDtype).toBe(quantize);
      expect(sameBits(record.weights, expected)).toBe(true);
      const tolerance = quantize === 'uint8' ? 0.4 / 255 : quantize === 'uint16' ? 0.4 / 65535 : 2 ** -11 * 0.2;
      for (let i = 0; i < weights.length; i++) expect(Math.abs(record.weights[i]! - weights[i]!)).toBeLessThanOrEqual(tolerance);
      const model = await tfLoad(path);
      expect(sameBits((await model.getLayer('q').getWeights()[0]!.data()) as Float32Array, expected)).toBe(true);
      model.dispose();
    });
  }

  it('an embedding that spans two shards and starts mid-shard', async () => {
    const dir = join(tmp.dir, 'span');
    await (await import('node:fs/promises')).mkdir(dir);
    const before = new Float32Array([9, 9, 9]);
    const weights = Float32Array.from({ length: 12 }, (_, i) => i + 0.5);
    const all = new Uint8Array(4 * 15);
    all.set(new Uint8Array(before.buffer), 0);
    all.set(new Uint8Array(weights.buffer), 12);
    await writeFile(join(dir, 'a.bin'), all.subarray(0, 30));
    await writeFile(join(dir, 'b.bin'), all.subarray(30));
    const model = {
      format: 'layers-model',
      modelTopology: {
        class_name: 'Sequential',
        config: {
          name: 's',
          layers: [
            {
              class_name: 'Embedding',
              config: { name: 'e', input_dim: 4, output_dim: 3, batch_input_shape: [null, null], dtype: 'float32' },
            },
          ],
        },
      },
      weightsManifest: [
        {
          paths: ['a.bin', 'b.bin'],
          weights: [
            { name: 'x/bias', shape: [3], dtype: 'float32' },
            { name: 'e/embeddings', shape: [4, 3], dtype: 'float32' },
          ],
        },
      ],
    };
    await writeFile(join(dir, 'model.json'), JSON.stringify(model));
    const record = await readEmbedding(join(dir, 'model.json'));
    expect(sameBits(record.weights, weights)).toBe(true);
    await writeFile(join(dir, 'b.bin'), all.subarray(30, 50));
    const error = await readEmbeddings(join(dir, 'model.json')).catch((e: unknown) => e);
    expect(BadFileError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/truncated weights/);
  });

  it('rejects bad model.json files', async () => {
    const dir = join(tmp.dir, 'bad');
    await (await import('node:fs/promises')).mkdir(dir);
    const cases: [string, string, RegExp][] = [
      ['notjson.json', '{"format": "layers-model", "modelTop', /not JSON/],
      [
        'noembedding.json',
        JSON.stringify({
          modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: {} }] } },
          weightsManifest: [],
        }),
        /no Embedding layer/,
      ],
      [
        'noweight.json',
        JSON.stringify({
          modelTopology: {
            class_name: 'Sequential',
            config: { layers: [{ class_name: 'Embedding', config: { name: 'e', input_dim: 2, output_dim: 2 } }] },
          },
          weightsManifest: [],
        }),
        /no weight "e\/embeddings"/,
      ],
      [
        'missingshard.json',
        JSON.stringify({
          modelTopology: {
            class_name: 'Sequential',
            config: { layers: [{ class_name: 'Embedding', config: { name: 'e', input_dim: 2, output_dim: 2 } }] },
          },
          weightsManifest: [{ paths: ['nope.bin'], weights: [{ name: 'e/embeddings', shape: [2, 2], dtype: 'float32' }] }],
        }),
        /nope\.bin/,
      ],
      [
        'wrongshape.json',
        JSON.stringify({
          modelTopology: {
            class_name: 'Sequential',
            config: { layers: [{ class_name: 'Embedding', config: { name: 'e', input_dim: 2, output_dim: 2 } }] },
          },
          weightsManifest: [{ paths: ['x.bin'], weights: [{ name: 'e/embeddings', shape: [4], dtype: 'float32' }] }],
        }),
        /2-D/,
      ],
    ];
    for (const [name, content, message] of cases) {
      const path = join(dir, name);
      await writeFile(path, content);
      const error = await readEmbeddings(path).catch((e: unknown) => e);
      expect(BadFileError.isInstance(error), `${name}: ${String(error)}`).toBe(true);
      expect((error as Error).message, name).toMatch(message);
    }
  });
});
