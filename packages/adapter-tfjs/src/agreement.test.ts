import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { quietTfjsBanner, registerEmbeddingLayer } from './index.js';

const Embedding = registerEmbeddingLayer(tf);

beforeAll(async () => {
  await tf.setBackend('cpu');
  quietTfjsBanner(tf);
});

const RUNS = 200;

/** Everything both layers are given: TF.js layer arguments, an input and a weight matrix. */
const scenario = fc
  .record({
    inputDim: fc.integer({ min: 1, max: 40 }),
    outputDim: fc.integer({ min: 1, max: 12 }),
    maskZero: fc.constantFrom(undefined, false, true),
    initializer: fc.constantFrom(
      undefined,
      'randomUniform',
      'randomNormal',
      'glorotUniform',
      'heNormal',
      'zeros',
      'ones',
      'truncatedNormal',
    ),
    regularizer: fc.constantFrom(undefined, 'l1l2'),
    constraint: fc.constantFrom(undefined, 'maxNorm', 'nonNeg', 'unitNorm'),
    dims: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
    lengthMode: fc.constantFrom('none', 'exact', 'withNulls'),
    dtype: fc.constantFrom('int32', 'float32'),
    zeroShare: fc.double({ min: 0, max: 0.6, noNaN: true }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map((s) => {
    // input_length describes the non-batch dimensions; rank-1 inputs have none.
    const rest = s.dims.slice(1);
    const inputLength =
      rest.length === 0 || s.lengthMode === 'none'
        ? undefined
        : s.lengthMode === 'exact'
          ? rest.length === 1
            ? rest[0]!
            : rest
          : rest.map((d, i) => (i % 2 === 0 ? null : d));
    return { ...s, inputLength };
  });

/** Seeded values: indices in [0, inputDim) with a share of zeros (padding), and weights from a wide float range. */
function data(s: { seed: number; inputDim: number; outputDim: number; dims: number[]; zeroShare: number }) {
  let state = s.seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const size = s.dims.reduce((a, b) => a * b, 1);
  const ids = Array.from({ length: size }, () => (next() < s.zeroShare ? 0 : Math.floor(next() * s.inputDim)));
  const weights = Float32Array.from({ length: s.inputDim * s.outputDim }, () => (next() - 0.5) * 10 ** Math.floor(next() * 8 - 4));
  return { ids, weights };
}

function bits(t: tf.Tensor): Uint32Array {
  const values = t.dataSync();
  return new Uint32Array(Float32Array.from(values).buffer);
}

describe('agreement with tf.layers.embedding', () => {
  it(`gives identical outputs, masks and output shapes for ${RUNS} random configs, inputs and weights`, () => {
    let checked = 0;
    fc.assert(
      fc.property(scenario, (s) => {
        const args = {
          inputDim: s.inputDim,
          outputDim: s.outputDim,
          ...(s.maskZero !== undefined ? { maskZero: s.maskZero } : {}),
          ...(s.inputLength !== undefined ? { inputLength: s.inputLength as number | number[] } : {}),
          ...(s.initializer ? { embeddingsInitializer: s.initializer as 'randomUniform' } : {}),
          ...(s.regularizer ? { embeddingsRegularizer: s.regularizer as 'l1l2' } : {}),
          ...(s.constraint ? { embeddingsConstraint: s.constraint as 'maxNorm' } : {}),
        };
        // As in model.json, an unset (undefined) value and null are the same.
        const clean = (v: unknown) => JSON.parse(JSON.stringify(v ?? null, (_k, x) => (x === undefined ? null : x)));
        const ours = new Embedding(args);
        const theirs = tf.layers.embedding(args);
        // Read before any call: TF.js's computeOutputShape writes the input's sizes into the nulls of its inputLength list.
        const oc = clean(ours.getConfig());
        const tc = clean(theirs.getConfig());
        const { ids, weights } = data(s);
        const input = tf.tensor(ids, s.dims, s.dtype as 'int32' | 'float32');
        const matrix = tf.tensor2d(weights, [s.inputDim, s.outputDim]);
        try {
          tf.dispose([ours.apply(input) as tf.Tensor, theirs.apply(input) as tf.Tensor]);
          ours.setWeights([matrix]);
          theirs.setWeights([matrix]);
          const a = ours.apply(input) as tf.Tensor;
          const b = theirs.apply(input) as tf.Tensor;
          expect(a.shape).toEqual(b.shape);
          expect(a.dtype).toBe(b.dtype);
          expect(bits(a)).toEqual(bits(b));
          const ma = ours.computeMask(input) as tf.Tensor | null;
          const mb = theirs.computeMask(input) as tf.Tensor | null;
          expect(ma === null).toBe(mb === null);
          if (ma && mb) {
            expect(ma.dtype).toBe(mb.dtype);
            expect(ma.shape).toEqual(mb.shape);
            expect(Array.from(ma.dataSync())).toEqual(Array.from(mb.dataSync()));
          }
          const symbolic = [null, ...s.dims.slice(1)];
          expect(ours.computeOutputShape(symbolic)).toEqual(theirs.computeOutputShape(symbolic));
          expect(ours.supportsMasking).toBe(Boolean(theirs.supportsMasking));
          // Same serialized initializer, regularizer, constraint and input length.
          for (const key of [
            'inputDim',
            'outputDim',
            'embeddingsInitializer',
            'embeddingsRegularizer',
            'embeddingsConstraint',
            'inputLength',
          ]) {
            expect(oc[key]).toEqual(tc[key]);
          }
          expect(oc.maskZero).toBe(Boolean(tc.maskZero));
          tf.dispose([a, b, ma as tf.Tensor, mb as tf.Tensor]);
          checked++;
        } finally {
          tf.dispose([input, matrix]);
          ours.dispose();
          theirs.dispose();
        }
      }),
      { numRuns: RUNS, seed: 20261130 },
    );
    expect(checked).toBe(RUNS);
  });

  it("keeps null entries of inputLength; TF.js's layer overwrites them (and the caller's array) with the first input's sizes", () => {
    const ours = new Embedding({ inputDim: 10, outputDim: 2, inputLength: [null, 3] as number[] });
    const given = [null, 3] as unknown as number[];
    const theirs = tf.layers.embedding({ inputDim: 10, outputDim: 2, inputLength: given });
    const first = tf.zeros([1, 2, 3], 'int32');
    const second = tf.zeros([1, 4, 3], 'int32');
    tf.dispose([ours.apply(first) as tf.Tensor, theirs.apply(first) as tf.Tensor]);
    expect(ours.getConfig().inputLength).toEqual([null, 3]);
    expect(given).toEqual([2, 3]);
    expect((ours.apply(second) as tf.Tensor).shape).toEqual([1, 4, 3, 2]);
    expect(() => theirs.apply(second)).toThrow(/inputLength/);
    tf.dispose([first, second]);
  });
});
