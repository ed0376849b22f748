import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHeapGrowth, settledHeap } from '@embedding-layer/conformance/vitest';
import { Embedding as CoreEmbedding, EmbeddingError, resolveConfig } from '@embedding-layer/core';
import { initializeEmbeddings } from '@embedding-layer/core/backend';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileKeras,
  createTfjsBackend,
  EMBEDDING_LAYER_CLASS_NAME,
  quietTfjsBanner,
  registerEmbeddingLayer,
  toTfjsLoss,
} from './index.js';

const Embedding = registerEmbeddingLayer(tf);

beforeAll(async () => {
  await tf.setBackend('cpu');
  quietTfjsBanner(tf);
});

/** Seeded integer indices in [0, n) as an int32 tensor (a fixed LCG, so the test needs no tf.random seed). */
function indices(shape: number[], n: number, seed = 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Int32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s % n;
  }
  return tf.tensor(data, shape, 'int32');
}

/** Saves through an in-memory handler and returns the artifacts. */
async function saveToMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return artifacts!;
}

describe('the seed example as a tf.sequential model', () => {
  it('Embedding(1000, 64, inputLength 10) -> compile("rmsprop", "mse") -> predict on 32x10 gives [32, 10, 64]', () => {
    const model = tf.sequential();
    model.add(new Embedding({ inputDim: 1000, outputDim: 64, inputLength: 10 }));
    compileKeras(model, 'rmsprop', 'mse');
    const x = indices([32, 10], 1000);
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([32, 10, 64]);
    expect(model.outputs[0]!.shape).toEqual([null, 10, 64]);
    // Each output row is the embeddings row of its index.
    const w = model.layers[0]!.getWeights()[0]!.arraySync() as number[][];
    const ids = x.arraySync() as number[][];
    const out = y.arraySync() as number[][][];
    expect(out[3]![7]).toEqual(w[ids[3]![7]!]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('with Flatten then Dense after it, fit runs and the loss goes down', async () => {
    const model = tf.sequential();
    model.add(new Embedding({ inputDim: 1000, outputDim: 64, inputLength: 10, seed: 7 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
    compileKeras(model, 'rmsprop', 'mse');
    const x = indices([32, 10], 1000, 5);
    const y = tf.tidy(() => tf.sum(tf.cast(tf.less(x, 500), 'float32'), 1, true).div(10));
    const before = layerWeights(model);
    const history = await model.fit(x, y, { epochs: 8, batchSize: 32, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses).toHaveLength(8);
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.8);
    // The embedding itself was trained (rows used by the batch moved).
    expect(layerWeights(model)).not.toEqual(before);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('maskZero propagates its mask to a following LSTM: a padded sequence gives the unpadded final state', () => {
    const embedding = new Embedding({ inputDim: 20, outputDim: 4, maskZero: true, seed: 11 });
    const lstm = tf.layers.lstm({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), recurrentInitializer: 'zeros' });
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ batchInputShape: [null, null], dtype: 'int32' }), embedding, lstm] });
    const unpadded = model.predict(tf.tensor2d([[5, 3, 9]], [1, 3], 'int32')) as tf.Tensor;
    const prePadded = model.predict(tf.tensor2d([[0, 0, 5, 3, 9]], [1, 5], 'int32')) as tf.Tensor;
    const postPadded = model.predict(tf.tensor2d([[5, 3, 9, 0, 0]], [1, 5], 'int32')) as tf.Tensor;
    expect(Array.from(prePadded.dataSync())).toEqual(Array.from(unpadded.dataSync()));
    expect(Array.from(postPadded.dataSync())).toEqual(Array.from(unpadded.dataSync()));
    // Control: without maskZero the padding changes the state.
    const plain = tf.sequential({
      layers: [
        tf.layers.inputLayer({ batchInputShape: [null, null], dtype: 'int32' }),
        new Embedding({ inputDim: 20, outputDim: 4, seed: 11 }),
        tf.layers.lstm({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), recurrentInitializer: 'zeros' }),
      ],
    });
    const plainPadded = plain.predict(tf.tensor2d([[0, 0, 5, 3, 9]], [1, 5], 'int32')) as tf.Tensor;
    expect(Array.from(plainPadded.dataSync())).not.toEqual(Array.from(unpadded.dataSync()));
    model.dispose();
    plain.dispose();
  });
});

function layerWeights(model: tf.LayersModel): number[] {
  return Array.from(model.layers[0]!.getWeights()[0]!.dataSync());
}

function seedModel(args: Record<string, unknown> = {}): tf.Sequential {
  const model = tf.sequential();
  model.add(new Embedding({ inputDim: 1000, outputDim: 64, inputLength: 10, maskZero: true, embeddingsRegularizer: 'l2', ...args }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 1 }));
  return model;
}

describe('model.save / tf.loadLayersModel', () => {
  it('round-trips through an in-memory handler with identical weights, config and predictions', async () => {
    const model = seedModel({ seed: 42 });
    const artifacts = await saveToMemory(model);
    const topology = JSON.stringify(artifacts.modelTopology);
    expect(topology).toContain(`"class_name":"${EMBEDDING_LAYER_CLASS_NAME}"`);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const [a, b] = [model.layers[0]!, loaded.layers[0]!];
    expect(b).toBeInstanceOf(Embedding);
    expect(b.getConfig()).toEqual(a.getConfig());
    expect(Array.from(b.getWeights()[0]!.dataSync())).toEqual(Array.from(a.getWeights()[0]!.dataSync()));
    const x = indices([4, 10], 1000, 9);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    model.dispose();
    loaded.dispose();
  });

  it('round-trips through files (model.json + weights.bin written and read back as JSON)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adapter-tfjs-'));
    try {
      const model = seedModel();
      // Train one step so the saved weights are not the initial ones.
      compileKeras(model, 'sgd', 'mse');
      await model.fit(indices([8, 10], 1000, 2), tf.ones([8, 1]), { epochs: 1, verbose: 0 });
      const artifacts = await saveToMemory(model);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));

      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      const bin = await readFile(join(dir, 'weights.bin'));
      const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
      const loaded = await tf.loadLayersModel(
        tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }),
      );
      expect(loaded.layers[0]!.getConfig()).toEqual(model.layers[0]!.getConfig());
      for (let i = 0; i < model.layers.length; i++) {
        const want = model.layers[i]!.getWeights().map((t) => Array.from(t.dataSync()));
        const got = loaded.layers[i]!.getWeights().map((t) => Array.from(t.dataSync()));
        expect(got).toEqual(want);
      }
      model.dispose();
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the layer itself', () => {
  it("with a seed holds core's initializer bits, the same as every backend of @embedding-layer/core", async () => {
    const layer = new Embedding({ inputDim: 50, outputDim: 8, seed: 1234, embeddingsInitializer: 'glorot_uniform' });
    layer.build([null, null]);
    const resolved = resolveConfig({ inputDim: 50, outputDim: 8, seed: 1234, embeddingsInitializer: 'glorot_uniform' });
    const expected = initializeEmbeddings(resolved.embeddingsInitializer, 50, 8, 1234);
    expect(Array.from(layer.getWeights()[0]!.dataSync())).toEqual(Array.from(expected));
    const core = await CoreEmbedding.create(
      { inputDim: 50, outputDim: 8, seed: 1234, embeddingsInitializer: 'glorot_uniform' },
      { backend: await createTfjsBackend({ backend: 'cpu' }) },
    );
    expect(Array.from((await core.getWeights())[0]!)).toEqual(Array.from(expected));
    await core.dispose();
  });

  it('accepts Keras names as well as TF.js ones, and serializes them as TF.js objects', () => {
    const layer = new Embedding({
      inputDim: 10,
      outputDim: 3,
      embeddingsInitializer: 'uniform',
      embeddingsRegularizer: 'l2',
      embeddingsConstraint: { class_name: 'MaxNorm', config: { max_value: 3, axis: 1 } },
    });
    const config = layer.getConfig();
    expect(config.embeddingsInitializer).toEqual({ className: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } });
    expect(config.embeddingsRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: 0.01 } });
    expect(config.embeddingsConstraint).toEqual({ className: 'MaxNorm', config: { maxValue: 3, axis: 1 } });
    const tfjsStyle = new Embedding({ inputDim: 10, outputDim: 3, embeddingsInitializer: 'glorotNormal', embeddingsConstraint: 'nonNeg' });
    expect((tfjsStyle.getConfig().embeddingsInitializer as { className: string }).className).toBe('VarianceScaling');
    expect((tfjsStyle.getConfig().embeddingsConstraint as { className: string }).className).toBe('NonNeg');
  });

  it("raises core's typed errors: bad config, out-of-range, negative and non-integer indices", () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return EmbeddingError.isInstance(error) ? error.code : `not an EmbeddingError: ${String(error)}`;
      }
      return 'no error';
    };
    expect(code(() => new Embedding({ inputDim: 0, outputDim: 4 }))).toBe('INVALID_CONFIG');
    expect(code(() => new Embedding({ inputDim: 12.5, outputDim: 4 }))).toBe('INVALID_CONFIG');
    expect(code(() => new Embedding({ inputDim: 10, outputDim: 4, embeddingsInitializer: 'nope' }))).toBe('INVALID_CONFIG');
    const layer = new Embedding({ inputDim: 10, outputDim: 4, seed: 1 });
    expect(code(() => layer.apply(tf.tensor1d([1, 10], 'int32')))).toBe('INVALID_INDEX');
    expect(code(() => layer.apply(tf.tensor1d([-1, 2], 'int32')))).toBe('INVALID_INDEX');
    expect(code(() => layer.apply(tf.tensor1d([1.5], 'float32')))).toBe('INVALID_INDEX');
    const fixed = new Embedding({ inputDim: 10, outputDim: 4, inputLength: 3 });
    expect(code(() => fixed.apply(tf.tensor2d([[1, 2]], [1, 2], 'int32')))).toBe('SHAPE_MISMATCH');
  });

  it("takes the base LayerArgs: initial `weights`, `trainable: false`; its regularizer adds TF.js's loss", async () => {
    const w = tf.tensor2d(
      Float32Array.from({ length: 20 }, (_, i) => i / 10 - 1),
      [10, 2],
    );
    const frozen = new Embedding({ inputDim: 10, outputDim: 2, inputLength: 3, weights: [w], trainable: false });
    const model = tf.sequential({ layers: [frozen, tf.layers.flatten(), tf.layers.dense({ units: 1 })] });
    expect(Array.from(frozen.getWeights()[0]!.dataSync())).toEqual(Array.from(w.dataSync()));
    expect(frozen.trainableWeights).toHaveLength(0);
    compileKeras(model, 'sgd', 'mse');
    await model.fit(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), tf.ones([1, 1]), { epochs: 2, verbose: 0 });
    expect(Array.from(frozen.getWeights()[0]!.dataSync())).toEqual(Array.from(w.dataSync()));
    // Keras 'l2' = L1L2(l1=0, l2=0.01): the penalty is 0.01 * sum(w^2).
    const trainable = new Embedding({ inputDim: 10, outputDim: 2, weights: [w], embeddingsRegularizer: 'l2' });
    tf.dispose(trainable.apply(tf.tensor1d([0], 'int32')) as tf.Tensor);
    const penalty = (trainable.losses[0] as unknown as () => tf.Scalar)().dataSync()[0]!;
    const expected = 0.01 * Array.from(w.dataSync()).reduce((a, v) => a + v * v, 0);
    expect(Math.abs(penalty - expected)).toBeLessThan(1e-6);
    model.dispose();
  });

  it("does not replace TF.js's built-in Embedding in the class registry; registering twice returns the same class", () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.Embedding![0]).toBe(tf.layers.embedding({ inputDim: 2, outputDim: 2 }).constructor);
    expect(map[EMBEDDING_LAYER_CLASS_NAME]![0]).toBe(Embedding);
    expect(registerEmbeddingLayer(tf)).toBe(Embedding);
  });

  it('dispose() frees its variable', () => {
    const layer = new Embedding({ inputDim: 100, outputDim: 16, seed: 3 });
    const x = tf.tensor1d([1, 2], 'int32');
    const before = tf.memory();
    tf.dispose(layer.apply(x) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(before.numTensors + 1);
    expect(tf.memory().numBytes).toBe(before.numBytes + 100 * 16 * 4);
    layer.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    x.dispose();
  });

  it('has the gradient of tf.layers.embedding, up to float32 rounding (duplicate indices summed)', () => {
    const ours = new Embedding({ inputDim: 30, outputDim: 5, seed: 8 });
    const builtIn = tf.layers.embedding({ inputDim: 30, outputDim: 5 });
    const x = tf.tensor2d(
      [
        [3, 7, 3],
        [0, 29, 3],
      ],
      [2, 3],
      'int32',
    );
    tf.dispose([ours.apply(x) as tf.Tensor, builtIn.apply(x) as tf.Tensor]);
    builtIn.setWeights(ours.getWeights());
    const r = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 4);
    const gradient = (layer: tf.layers.Layer) => {
      const variable = layer.trainableWeights[0]!.read() as tf.Variable;
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, [variable]);
      return Array.from(grads[variable.name]!.dataSync());
    };
    const want = gradient(builtIn);
    expect(want.some((v) => v !== 0)).toBe(true);
    // TF.js's CPU segment sum accumulates in float64 and rounds once; scatterND accumulates in float32: equal up to rounding.
    const got = gradient(ours);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[i]!)));
    expect(got.map((v) => v === 0)).toEqual(want.map((v) => v === 0));
    tf.dispose([x, r]);
  });
});

describe.each([
  { label: 'cpu', backend: 'cpu', fastPath: true },
  { label: 'cpu, fastPath = false', backend: 'cpu', fastPath: false },
  { label: 'wasm', backend: 'wasm', fastPath: true },
] as const)('no leaks on TF.js $label', ({ label, backend, fastPath }) => {
  beforeAll(async () => {
    await createTfjsBackend({ backend });
    Embedding.fastPath = fastPath;
  });
  afterAll(async () => {
    Embedding.fastPath = true;
    await tf.setBackend('cpu');
  });

  it('10,000 calls (apply, computeMask) and 1,000 trainOnBatch steps leave tensors and tensor bytes flat and grow the heap by at most 32 bytes per call', async () => {
    const model = tf.sequential();
    model.add(new Embedding({ inputDim: 100, outputDim: 8, maskZero: true, inputLength: 5, seed: 3 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
    compileKeras(model, 'rmsprop', 'mse');
    const layer = model.layers[0]!;
    const x = indices([4, 5], 100);
    const y = tf.tensor2d([0.1, 0.2, 0.3, 0.4], [4, 1]);
    const calls = (n: number) => {
      for (let i = 0; i < n; i++) tf.dispose([layer.apply(x) as tf.Tensor, layer.computeMask(x)!]);
    };
    const steps = async (n: number) => {
      for (let i = 0; i < n; i++) await model.trainOnBatch(x, y);
    };
    calls(200);
    await steps(20);
    const before = tf.memory();
    const heapBefore = settledHeap();
    calls(10_000);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    await steps(1_000);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    const heapAfter = settledHeap();
    // At most 2 MB + 32 bytes per call (a layer keeping each output would grow by hundreds).
    checkHeapGrowth(`tf.layers.Layer on ${label}`, heapBefore, heapAfter, 2 * 10_000 + 1_000);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('Keras loss names', () => {
  it('maps Keras spellings to TF.js ones and rejects unknown names with INVALID_CONFIG', () => {
    expect(toTfjsLoss('mse')).toBe('meanSquaredError');
    expect(toTfjsLoss('meanSquaredError')).toBe('meanSquaredError');
    expect(toTfjsLoss('sparse_categorical_crossentropy')).toBe('sparseCategoricalCrossentropy');
    expect(() => toTfjsLoss('nope')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

afterAll(() => {
  tf.disposeVariables();
});
