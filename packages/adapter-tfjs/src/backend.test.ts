import { checkHeapGrowth, settledHeap } from '@embedding-layer/conformance/vitest';
import { Embedding, type EmbeddingBackendV1, EmbeddingError, resolveConfig } from '@embedding-layer/core';
import { computeMask, initializeEmbeddings, toIndexTensor } from '@embedding-layer/core/backend';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { computeMaskTensor, createTfjsBackend, lookupTensor, registerEmbeddingLayer } from './index.js';

async function codeOf(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    return EmbeddingError.isInstance(error) ? error.code : `not an EmbeddingError: ${String(error)}`;
  }
  return 'no error';
}

/** Row-major gather computed in plain JS: the independent reference. */
function gatherRows(table: Float32Array, ids: ArrayLike<number>, d: number): Float32Array {
  const out = new Float32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) out.set(table.subarray(ids[i]! * d, ids[i]! * d + d), i * d);
  return out;
}

describe.each(['cpu', 'wasm'] as const)('TF.js %s backend', (name) => {
  const create = async (config: Parameters<typeof Embedding.create>[0]) =>
    Embedding.create(config, { backend: await createTfjsBackend({ backend: name }) });

  it('is named after the TF.js backend it runs on, which it makes active', async () => {
    const backend = await createTfjsBackend({ backend: name });
    expect(backend.name).toBe(`tfjs-${name}`);
    expect(tf.getBackend()).toBe(name);
    expect(backend.supports.training).toBe(true);
  });

  it("holds core's seeded weights bit for bit", async () => {
    const layer = await create({ inputDim: 40, outputDim: 6, seed: 99, embeddingsInitializer: 'he_normal' });
    const resolved = resolveConfig({ inputDim: 40, outputDim: 6, seed: 99, embeddingsInitializer: 'he_normal' });
    const expected = initializeEmbeddings(resolved.embeddingsInitializer, 40, 6, 99);
    expect(new Uint32Array((await layer.getWeights())[0]!.buffer)).toEqual(new Uint32Array(expected.buffer));
    await layer.dispose();
  });

  it('dispose() frees the variable (one tensor, inputDim * outputDim * 4 bytes)', async () => {
    const before = tf.memory();
    const layer = await create({ inputDim: 300, outputDim: 20, seed: 2 });
    expect(tf.memory().numTensors).toBe(before.numTensors + 1);
    expect(tf.memory().numBytes).toBe(before.numBytes + 300 * 20 * 4);
    await layer.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(await codeOf(() => lookupTensor(layer, tf.tensor1d([0], 'int32')))).toBe('LAYER_DISPOSED');
  });

  it("out-of-range and negative indices raise InvalidIndexError, before TF.js's own gather check", async () => {
    const layer = await create({ inputDim: 10, outputDim: 3, seed: 3 });
    expect(await codeOf(() => layer.predict([[1, 10]]))).toBe('INVALID_INDEX');
    expect(await codeOf(() => layer.predict([[-1, 2]]))).toBe('INVALID_INDEX');
    expect(await codeOf(() => lookupTensor(layer, tf.tensor2d([[1, 10]], [1, 2], 'int32')))).toBe('INVALID_INDEX');
    expect(await codeOf(() => lookupTensor(layer, tf.tensor2d([[-1, 2]], [1, 2], 'int32')))).toBe('INVALID_INDEX');
    expect(await codeOf(() => lookupTensor(layer, tf.tensor1d([2.5], 'float32')))).toBe('INVALID_INDEX');
    let caught: unknown;
    try {
      lookupTensor(
        layer,
        tf.tensor2d(
          [
            [1, 2],
            [3, 12],
          ],
          [2, 2],
          'int32',
        ),
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'INVALID_INDEX', position: [1, 1], inputDim: 10, value: 12 });
    // What TF.js itself would have said on this backend: a plain Error, not our typed one.
    const raw = await codeOf(() => tf.gather(tf.zeros([10, 3]), tf.tensor1d([10], 'int32')).dataSync());
    expect(raw).toMatch(/^not an EmbeddingError/);
    await layer.dispose();
  });

  it('lookupTensor takes int32 and float32 tensors of any rank and returns [...shape, outputDim] equal to predict', async () => {
    const layer = await create({ inputDim: 50, outputDim: 4, maskZero: true, seed: 4 });
    const ids = [0, 49, 7, 7, 0, 13, 21, 1];
    const table = (await layer.getWeights())[0]!;
    for (const dtype of ['int32', 'float32'] as const) {
      const input = tf.tensor3d(ids, [2, 2, 2], dtype);
      const out = lookupTensor(layer, input);
      expect(out).toBeInstanceOf(tf.Tensor);
      expect(out.shape).toEqual([2, 2, 2, 4]);
      expect(out.dtype).toBe('float32');
      expect(out.dataSync()).toEqual(gatherRows(table, ids, 4));
      expect(out.dataSync()).toEqual((await layer.predict({ data: Int32Array.from(ids), shape: [2, 2, 2] })).data);
      const mask = computeMaskTensor(layer, input)!;
      expect(mask.dtype).toBe('bool');
      expect(Array.from(mask.dataSync())).toEqual(Array.from(computeMask(toIndexTensor(ids, 50), true)!.data));
      tf.dispose([input, out, mask]);
    }
    await layer.dispose();
  });

  it('lookupTensor checks the shape against input_length', async () => {
    const layer = await create({ inputDim: 5, outputDim: 2, inputLength: 3, seed: 5 });
    expect(await codeOf(() => lookupTensor(layer, tf.tensor2d([[1, 2]], [1, 2], 'int32')))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => lookupTensor(layer, tf.scalar(1, 'int32')))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => lookupTensor(layer, tf.tensor1d(['a'], 'string')))).toBe('SHAPE_MISMATCH');
    expect(lookupTensor(layer, tf.tensor2d([[1, 2, 3]], [1, 3], 'int32')).shape).toEqual([1, 3, 2]);
    await layer.dispose();
  });

  it('the tf.layers.Layer runs on it: same output as tf.layers.embedding, InvalidIndexError for bad indices', async () => {
    await createTfjsBackend({ backend: name });
    const Layer = registerEmbeddingLayer(tf);
    const ours = new Layer({ inputDim: 12, outputDim: 3, maskZero: true, seed: 6 });
    const theirs = tf.layers.embedding({ inputDim: 12, outputDim: 3, maskZero: true });
    const x = tf.tensor2d(
      [
        [0, 11, 5],
        [5, 0, 1],
      ],
      [2, 3],
      'int32',
    );
    tf.dispose([ours.apply(x) as tf.Tensor, theirs.apply(x) as tf.Tensor]);
    theirs.setWeights(ours.getWeights());
    expect((ours.apply(x) as tf.Tensor).dataSync()).toEqual((theirs.apply(x) as tf.Tensor).dataSync());
    expect(Array.from((ours.computeMask(x) as tf.Tensor).dataSync())).toEqual([0, 1, 1, 1, 0, 1]);
    expect(await codeOf(() => ours.apply(tf.tensor1d([12], 'int32')))).toBe('INVALID_INDEX');
    expect(await codeOf(() => ours.apply(tf.tensor1d([-3], 'float32')))).toBe('INVALID_INDEX');
    x.dispose();
  });
});

describe.each([
  { label: 'cpu', options: { backend: 'cpu' } },
  { label: 'cpu, fastPath: false', options: { backend: 'cpu', fastPath: false } },
  { label: 'wasm', options: { backend: 'wasm' } },
] as const)('no leaks on TF.js $label', ({ label, options }) => {
  it('10,000 lookups (predict, predict into out, lookupTensor, computeMaskTensor) and 1,000 training steps each of trainOnBatch and applyGradients leave tensors and tensor bytes flat and grow the heap by at most 32 bytes per call', async () => {
    const layer = await Embedding.create(
      { inputDim: 500, outputDim: 16, maskZero: true, seed: 1 },
      { backend: await createTfjsBackend(options) },
    );
    const ids = new Int32Array([0, 17, 499, 3, 3, 250]);
    const input = { data: ids, shape: [2, 3] };
    const out = new Float32Array(6 * 16);
    const tensor = tf.tensor2d(ids, [2, 3], 'int32');
    const gradient = new Float32Array(6 * 16).fill(0.5);
    const targets = new Float32Array(6 * 16).fill(0.25);
    layer.compile('rmsprop', 'mse');
    const lookups = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await layer.predict(input);
        await layer.predict(input, { out });
        tf.dispose([lookupTensor(layer, tensor), computeMaskTensor(layer, tensor)!]);
      }
    };
    const training = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await layer.trainOnBatch(input, targets);
        await layer.applyGradients(input, gradient, { learningRate: 0.001 });
      }
    };
    // Warm up (JIT, TF.js's kernel caches, the optimizer's slots), then take the baseline.
    await lookups(200);
    await training(50);
    const tensorsBefore = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    const heapBefore = settledHeap();
    await lookups(10_000);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    await training(1_000);
    await layer.setWeights([new Float32Array(500 * 16)]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(tf.memory().numBytes).toBe(bytesBefore);
    const heapAfter = settledHeap();
    // At most 2 MB + 32 bytes per call (a backend keeping each output would grow by hundreds).
    checkHeapGrowth(`tfjs ${label}`, heapBefore, heapAfter, 4 * 10_000 + 2 * 1_000 + 1);
    tensor.dispose();
    await layer.dispose();
  });
});

describe('loading the runtime', () => {
  it('rejects a runtime that is not @tensorflow/tfjs with InvalidConfigError, and a bad option too', async () => {
    expect(await codeOf(() => createTfjsBackend({ runtime: {} as never }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => createTfjsBackend({ fastPath: 'yes' as never }))).toBe('INVALID_CONFIG');
  });

  it('takes the runtime as an option', async () => {
    const backend = await createTfjsBackend({ runtime: tf, backend: 'cpu' });
    expect(backend.name).toBe('tfjs-cpu');
  });

  it('rejects a TF.js backend that is not registered with InvalidConfigError', async () => {
    expect(await codeOf(() => createTfjsBackend({ backend: 'no-such-backend' }))).toBe('INVALID_CONFIG');
  });

  it('lookupTensor refuses a layer of another backend with UnsupportedFeatureError', async () => {
    const other: EmbeddingBackendV1 = {
      specificationVersion: 'v1',
      name: 'plain',
      supports: {},
      doCreateTable: (config, weights) => ({
        doLookup: (indices) => ({ data: gatherRows(weights, indices.data, config.outputDim), shape: [...indices.shape, config.outputDim] }),
        doGetWeights: () => weights,
        doSetWeights: () => {},
        doDispose: () => {},
      }),
    };
    const layer = await Embedding.create({ inputDim: 4, outputDim: 2, seed: 1 }, { backend: other });
    expect(await codeOf(() => lookupTensor(layer, tf.tensor1d([1], 'int32')))).toBe('UNSUPPORTED_FEATURE');
  });
});
