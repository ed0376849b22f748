import { type EmbeddingConfig, resolveConfig } from '@embedding-layer/core';
import { initializeEmbeddings, toIndexTensor } from '@embedding-layer/core/backend';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeInput, decodeNumbers, FIXTURES, flatten, referenceLookup } from '../src/index.js';
import type { FixtureCase } from '../src/types.js';

/**
 * The fixtures' expected lookups and masks, checked against TF.js's own `tf.layers.embedding`
 * (a third implementation, beside the Python generator and the float64 reference).
 */
const lookups = FIXTURES.find((f) => f.group === 'lookup')!.cases;
const masks = FIXTURES.find((f) => f.group === 'mask')!.cases;

function tableOf(fixture: FixtureCase): Float32Array {
  if (fixture.weights) return Float32Array.from(flatten(fixture.weights));
  const r = resolveConfig(decodeNumbers(fixture.config) as EmbeddingConfig);
  return initializeEmbeddings(r.embeddingsInitializer, r.inputDim, r.outputDim, r.seed);
}

function tfLayer(fixture: FixtureCase) {
  const config = decodeNumbers(fixture.config) as EmbeddingConfig;
  const table = tableOf(fixture);
  return {
    config,
    table,
    layer: tf.layers.embedding({
      inputDim: config.inputDim,
      outputDim: config.outputDim,
      maskZero: config.maskZero ?? false,
      weights: [tf.tensor2d(table, [config.inputDim, config.outputDim])],
    }),
  };
}

function inputTensor(fixture: FixtureCase, inputDim: number): tf.Tensor {
  const indices = toIndexTensor(decodeInput(fixture.input!, inputDim), inputDim);
  return tf.tensor(indices.data, [...indices.shape], 'int32');
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describe('fixtures agree with tf.layers.embedding (TF.js 4.22, cpu)', () => {
  // TF.js rejects output_dim 0 (it asserts a positive integer); the seed docs allow it.
  const supported = lookups.filter((c) => (c.config as { outputDim: number }).outputDim > 0);
  it('covers every lookup fixture except output_dim 0', () => {
    expect(lookups.length - supported.length).toBe(1);
  });

  for (const fixture of supported) {
    it(`lookup/${fixture.id}`, () => {
      const { config, layer, table } = tfLayer(fixture);
      const x = inputTensor(fixture, config.inputDim);
      const y = layer.apply(x) as tf.Tensor;
      const got = y.dataSync() as Float32Array;
      expect(y.shape).toEqual(fixture.expect.shape);
      const expected = fixture.expect.output
        ? Float32Array.from(flatten(fixture.expect.output))
        : referenceLookup(table, toIndexTensor(decodeInput(fixture.input!, config.inputDim), config.inputDim), config.outputDim);
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
      if ('mask' in fixture.expect) {
        const mask = layer.computeMask(x) as tf.Tensor | null;
        expect(mask ? Array.from(mask.dataSync(), Number) : null).toEqual(
          fixture.expect.mask === null ? null : flatten(fixture.expect.mask),
        );
      }
      tf.dispose([x, y]);
      layer.dispose();
    });
  }

  for (const fixture of masks) {
    it(`mask/${fixture.id}`, () => {
      const { config, layer } = tfLayer(fixture);
      const x = inputTensor(fixture, config.inputDim);
      layer.apply(x);
      const mask = layer.computeMask(x) as tf.Tensor | null;
      const want = fixture.expect.mask;
      expect(mask ? Array.from(mask.dataSync(), Number) : null).toEqual(want === null ? null : flatten(want));
      if (mask) expect(mask.shape).toEqual(x.shape);
      layer.dispose();
    });
  }
});
