import { Embedding } from '@embedding-layer/core';
import { halfToFloatTable, toHalf } from '@embedding-layer/core/backend';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from './index.js';

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

async function roundTrip(storage: 'float16' | 'int8', weights: Float32Array, rows: number, d: number): Promise<Float32Array> {
  const layer = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: createJsBackend({ storage }), weights: [weights] });
  expect(layer.describe().storage).toBe(storage);
  const ids = Int32Array.from({ length: rows }, (_, i) => i);
  return (await layer.predict(ids)).data;
}

describe('float16 encoding', () => {
  it('every finite float16 value encodes to its own bits (exhaustive)', () => {
    const t = halfToFloatTable();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) if ((h & 0x7c00) !== 0x7c00 && toHalf(t[h]!) !== h) wrong.push(h);
    expect(wrong).toEqual([]);
  });
  it('rounds to the nearest float16, ties to even (against a search over all float16 values)', () => {
    const t = halfToFloatTable();
    const positives = Array.from({ length: 0x7c00 }, (_, h) => t[h]!);
    const u = uniform(3, 20000);
    const wrong: number[] = [];
    for (let i = 0; i < u.length; i++) {
      const v = Math.fround(u[i]! * 65504);
      // Binary search for the neighbours below and above.
      let lo = 0;
      let hi = positives.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (positives[mid]! <= v) lo = mid;
        else hi = mid;
      }
      const dl = v - positives[lo]!;
      const dh = positives[hi]! - v;
      const expected = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
      if (toHalf(v) !== expected || toHalf(-v) !== (expected | 0x8000)) wrong.push(v);
    }
    expect(wrong).toEqual([]);
    // Exact midpoints between 1 and 1 + 2^-10: ties go to the even mantissa.
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalf(65520)).toBe(0x7c00);
    expect(toHalf(65519)).toBe(0x7bff);
    expect(Number.isNaN(t[toHalf(Number.NaN)]!)).toBe(true);
  });
});

describe('float16 storage', () => {
  it('lookups are within 2^-11 relative of float32 for normal values', async () => {
    const rows = 200;
    const d = 50;
    const w = spreadWeights(11, rows * d);
    const out = await roundTrip('float16', w, rows, d);
    let worst = 0;
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(out[i]! - w[i]!) / Math.abs(w[i]!));
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(2 ** -12); // the bound is tight, not vacuous
  });
  it('subnormal values are within 2^-25 absolute; overflow becomes Infinity', async () => {
    const w = new Float32Array([1e-6, -3e-7, 2 ** -24, 2 ** -26, 70000, -1e9]);
    const out = await roundTrip('float16', w, 3, 2);
    for (let i = 0; i < 4; i++) expect(Math.abs(out[i]! - w[i]!)).toBeLessThanOrEqual(2 ** -25);
    expect(Array.from(out.subarray(4))).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });
  it('stores 2 bytes per value', async () => {
    const layer = await Embedding.create(
      { inputDim: 100, outputDim: 10 },
      { backend: createJsBackend({ storage: 'float16', shardBytes: 400 }) },
    );
    expect(layer.describe()).toMatchObject({ shardRows: 20, storedBytes: 2000 });
  });
});

describe('int8 storage (Keras 3 per-row abs-max)', () => {
  it('matches hand-computed Keras values: scale = 127 / (max|row| + 1e-7), q = round half to even, value = q / scale', async () => {
    const w = new Float32Array([1, -0.5, 0.25, 0, 127, 0.5, 1.5, -2.5, 0, 0, 0, 0]);
    const out = await roundTrip('int8', w, 3, 4);
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
    const out = await roundTrip('int8', w, rows, d);
    let worstRatio = 0;
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let c = 0; c < d; c++) max = Math.max(max, Math.abs(w[r * d + c]!));
      for (let c = 0; c < d; c++) {
        const err = Math.abs(out[r * d + c]! - w[r * d + c]!);
        expect(err).toBeLessThanOrEqual(max / 254 + max * 2 ** -21 + 1e-9);
        worstRatio = Math.max(worstRatio, err / (max / 254));
      }
    }
    expect(worstRatio).toBeGreaterThan(0.9); // the bound is tight, not vacuous
  });
  it('NaN cannot be stored in int8 (it becomes 0); ±Infinity saturates to the largest finite magnitude of the row', async () => {
    const out = await roundTrip('int8', new Float32Array([Number.NaN, 1, -2, Number.NEGATIVE_INFINITY]), 2, 2);
    const f = Math.fround;
    expect(Array.from(out)).toEqual([0, f(127 / f(127 / f(1 + f(1e-7)))), -2, -2]);
  });
  it('stores 1 byte per value (plus a float32 scale per row)', async () => {
    const layer = await Embedding.create(
      { inputDim: 100, outputDim: 10 },
      { backend: createJsBackend({ storage: 'int8', shardBytes: 400 }) },
    );
    expect(layer.describe()).toMatchObject({ shardRows: 40, storedBytes: 1000 + 400 });
  });
});

describe('training on quantized storage', () => {
  for (const storage of ['float16', 'int8'] as const) {
    it(`${storage}: a step adds the update, then stores the row again`, async () => {
      const w = new Float32Array([0.5, -0.25, 0.125, 1, 2, 3]);
      const layer = await Embedding.create({ inputDim: 2, outputDim: 3 }, { backend: createJsBackend({ storage }), weights: [w] });
      await layer.applyGradients([1], new Float32Array([1, -1, 2]), { learningRate: 0.5 });
      const got = (await layer.getWeights())[0]!;
      const expected = [0.5, -0.25, 0.125, 0.5, 2.5, 2];
      const bound = storage === 'float16' ? (v: number) => Math.abs(v) * 2 ** -11 : () => 2.5 / 254 + 2 ** -20;
      for (let i = 0; i < 6; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThanOrEqual(bound(expected[i]!));
    });
  }
});

// The conformance suite on float16 and int8 storage runs in conformance.test.ts, with
// tolerances from supports.storage.bound (relative to each row's max |value|).
