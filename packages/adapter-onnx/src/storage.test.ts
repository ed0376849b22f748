import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildEmbeddingModel, createOnnxBackend, predictTensor, toOnnx } from './index.js';
import { codeOf, loadStrictly } from './testing/helpers.js';
import { checkModel, decodeModel } from './testing/onnx-checker.js';

type Quantized = 'float16' | 'int8';

/** Seeded uniform floats in [0, 1). */
function uniform(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) / 2 ** 32;
  }
  return out;
}

/** Weights spanning magnitudes 2^-14 .. 2^15 (inside the float16 normal range) with both signs, as float32. */
function spreadWeights(seed: number, n: number): Float32Array {
  const u = uniform(seed, 2 * n);
  return Float32Array.from({ length: n }, (_, i) => (u[2 * i]! < 0.5 ? -1 : 1) * 2 ** (-13 + 28 * u[2 * i + 1]!) * (1 + u[i]!) * 0.5);
}

async function onnxLayer(storage: Quantized | 'float32', weights: Float32Array, rows: number, d: number): Promise<Embedding> {
  return Embedding.create({ inputDim: rows, outputDim: d }, { backend: createOnnxBackend({ storage }), weights: [weights] });
}

/** Every row of the table, looked up. */
async function allRows(layer: Embedding): Promise<Float32Array> {
  const ids = Int32Array.from({ length: layer.config.inputDim }, (_, i) => i);
  return (await layer.predict(ids)).data;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('float16 storage', () => {
  it('lookups and getWeights are within 2^-11 relative of float32 for normal values', async () => {
    const rows = 200;
    const d = 50;
    const w = spreadWeights(11, rows * d);
    const layer = await onnxLayer('float16', w, rows, d);
    const out = await allRows(layer);
    let worst = 0;
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(out[i]! - w[i]!) / Math.abs(w[i]!));
    console.info(`[storage] float16: max relative error ${worst.toExponential(4)} (bound 2^-11 = ${(2 ** -11).toExponential(4)})`);
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(2 ** -12); // the bound is tight, not vacuous
    expect(bits((await layer.getWeights())[0]!)).toEqual(bits(out));
    await layer.dispose();
  });
  it('subnormal values are within 2^-25 absolute; overflow becomes Infinity', async () => {
    const w = new Float32Array([1e-6, -3e-7, 2 ** -24, 2 ** -26, 70000, -1e9]);
    const out = await allRows(await onnxLayer('float16', w, 3, 2));
    for (let i = 0; i < 4; i++) expect(Math.abs(out[i]! - w[i]!)).toBeLessThanOrEqual(2 ** -25);
    expect(Array.from(out.subarray(4))).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });
});

describe('int8 storage (Keras 3 per-row abs-max)', () => {
  it('matches hand-computed Keras values: scale = 127 / (max|row| + 1e-7), q = round half to even, value = q / scale', async () => {
    const w = new Float32Array([1, -0.5, 0.25, 0, 127, 0.5, 1.5, -2.5, 0, 0, 0, 0]);
    const out = await allRows(await onnxLayer('int8', w, 3, 4));
    const f = Math.fround;
    const s = f(127 / f(1 + f(1e-7))); // Keras's float32 steps; 127 + 1e-7 rounds to 127 (scale 1)
    expect(Array.from(out.subarray(0, 4))).toEqual([f(127 / s), f(-63 / s), f(32 / s), 0]);
    expect(Array.from(out.subarray(4, 8))).toEqual([127, 0, 2, -2]);
    expect(Array.from(out.subarray(8))).toEqual([0, 0, 0, 0]);
  });
  it('lookups are within the declared bound (max|row| + 1e-7) / 254 plus float32 rounding', async () => {
    const rows = 300;
    const d = 64;
    const w = spreadWeights(12, rows * d).map((v, i) => v * (1 + (i % 7)));
    const out = await allRows(await onnxLayer('int8', w, rows, d));
    let worstRatio = 0;
    let violations = 0;
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let c = 0; c < d; c++) max = Math.max(max, Math.abs(w[r * d + c]!));
      for (let c = 0; c < d; c++) {
        const err = Math.abs(out[r * d + c]! - w[r * d + c]!);
        if (err > max / 254 + max * 2 ** -21 + 1e-9) violations++;
        worstRatio = Math.max(worstRatio, err / (max / 254));
      }
    }
    console.info(`[storage] int8: max |error| / (max|row| / 254) = ${worstRatio.toFixed(6)} (bound 1 + 254 * 2^-23)`);
    expect(violations).toBe(0);
    expect(worstRatio).toBeGreaterThan(0.9); // the bound is tight, not vacuous
  });
  it('NaN cannot be stored in int8 (it becomes 0); ±Infinity saturates to the largest finite magnitude of the row', async () => {
    const out = await allRows(await onnxLayer('int8', new Float32Array([Number.NaN, 1, -2, Number.NEGATIVE_INFINITY]), 2, 2));
    const f = Math.fround;
    expect(Array.from(out)).toEqual([0, f(127 / f(127 / f(1 + f(1e-7)))), -2, -2]);
  });
});

describe.each(['float16', 'int8'] as const)('%s: bit-for-bit agreement with adapter-js', (storage) => {
  it('lookups, getWeights and setWeights agree bitwise on random tables (with zero rows, ties, subnormals and infinities)', async () => {
    for (const [seed, rows, d] of [
      [1, 257, 33],
      [2, 64, 128],
      [3, 1000, 8],
    ] as const) {
      const u = uniform(seed, rows * d);
      const w = spreadWeights(seed + 100, rows * d).map((v, i) => v * (1 + u[i]! * 4));
      w.fill(0, 0, d); // an all-zero row
      w.set([0.5, 1.5, -2.5, 127, 2 ** -20, -(2 ** -24), 1e-30, Number.POSITIVE_INFINITY], d); // ties, tiny values, Infinity
      const a = await onnxLayer(storage, w, rows, d);
      const b = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: createJsBackend({ storage }), weights: [w] });
      const ids = Int32Array.from(uniform(seed + 7, 3000), (x) => Math.floor(x * rows));
      expect(bits((await a.predict(ids)).data)).toEqual(bits((await b.predict(ids)).data));
      expect(bits((await a.getWeights())[0]!)).toEqual(bits((await b.getWeights())[0]!));
      const next = spreadWeights(seed + 200, rows * d);
      await a.setWeights([next]);
      await b.setWeights([next]);
      expect(bits((await a.predict(ids)).data)).toEqual(bits((await b.predict(ids)).data));
      expect(bits((await a.getWeights())[0]!)).toEqual(bits((await b.getWeights())[0]!));
      await a.dispose();
      await b.dispose();
    }
  });
});

describe('the quantized graphs and storage', () => {
  it('store 2 bytes a value (float16) and 1 byte a value plus a float32 scale per row (int8)', async () => {
    const w = spreadWeights(5, 100 * 10);
    for (const [storage, bytes] of [
      ['float32', 4000],
      ['float16', 2000],
      ['int8', 1000 + 400],
    ] as const) {
      const layer = await onnxLayer(storage, w, 100, 10);
      expect(layer.describe()).toMatchObject({ storage, storedBytes: bytes });
      await layer.dispose();
    }
  });
  it('declare the stored types (FLOAT16; INT8 plus float32 scales) and pass the ONNX checker rules and strict type and shape inference', async () => {
    const config = (await onnxLayer('float32', new Float32Array(40), 4, 10)).config;
    for (const storage of ['float16', 'int8'] as const) {
      for (const indexType of ['int32', 'int64'] as const) {
        for (const inputShape of [['n'], ['batch', 3]]) {
          const model = buildEmbeddingModel(config, new Float32Array(40), { table: 'input', storage, indexType, inputShape });
          const inferred = checkModel(decodeModel(model));
          expect(inferred.get('output')).toEqual({ elem: 1, shape: [...inputShape, 10] }); // FLOAT
          await loadStrictly(model);
          const session = await ort.InferenceSession.create(model);
          const types = Object.fromEntries(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : null]));
          expect(types).toEqual(
            storage === 'float16'
              ? { indices: indexType, embeddings: 'float16' }
              : { indices: indexType, embeddings: 'int8', scales: 'float32' },
          );
          await session.release();
        }
      }
    }
  });
  it('mask_zero: the graph still yields the mask (predictTensor), and batched shapes come back', async () => {
    for (const storage of ['float16', 'int8'] as const) {
      const w = spreadWeights(9, 20 * 4);
      const layer = await Embedding.create(
        { inputDim: 20, outputDim: 4, maskZero: true },
        { backend: createOnnxBackend({ storage }), weights: [w] },
      );
      const ids = new Int32Array([0, 3, 19, 0, 5, 7]);
      const { output, mask } = await predictTensor(layer, new ort.Tensor('int32', ids, [2, 3]));
      expect(output.dims).toEqual([2, 3, 4]);
      expect(mask!.dims).toEqual([2, 3]);
      expect(Array.from(mask!.data as Uint8Array, Boolean)).toEqual([false, true, true, false, true, true]);
      expect(bits(output.data as Float32Array)).toEqual(bits((await layer.predict({ data: ids, shape: [2, 3] })).data));
      await layer.dispose();
    }
  });
  it('export writes a float32 table holding the dequantized values (toOnnx and layer.export)', async () => {
    for (const storage of ['float16', 'int8'] as const) {
      const w = spreadWeights(13, 30 * 6);
      const layer = await onnxLayer(storage, w, 30, 6);
      const expected = await allRows(layer);
      for (const model of [await toOnnx(layer), await layer.export('onnx')]) {
        const session = await ort.InferenceSession.create(model);
        const ids = Int32Array.from({ length: 30 }, (_, i) => i);
        const result = await session.run({ indices: new ort.Tensor('int32', ids, [1, 30]) });
        expect(result.output!.type).toBe('float32');
        expect(bits(result.output!.data as Float32Array)).toEqual(bits(expected));
        await session.release();
      }
      await layer.dispose();
    }
  });
  it('reject an unknown storage with InvalidConfigError, and a quantized table as an initializer', async () => {
    expect(await codeOf(() => createOnnxBackend({ storage: 'bfloat16' as never }))).toBe('INVALID_CONFIG');
    const config = (await onnxLayer('float32', new Float32Array(4), 2, 2)).config;
    expect(await codeOf(() => buildEmbeddingModel(config, new Float32Array(4), { storage: 'int8' }))).toBe('INVALID_CONFIG');
  });
});

// The conformance suite on float16 and int8 storage runs in conformance.test.ts, with
// tolerances from supports.storage.bound (relative to each row's max |value|).
