import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STORAGE } from './capabilities.js';
import { decodeInt4, decodeInt8, encodeInt4, encodeInt8, int4At, int4RowBytes } from './quantize.js';

/** Written by conformance/scripts/make_keras3_fixtures.py: Keras 3's abs_max_quantize / pack_int4 in NumPy. */
const FIXTURE = JSON.parse(readFileSync(new URL('../../../../conformance/fixtures/keras3.json', import.meta.url), 'utf8')) as {
  int4: QuantCase[];
  int8: QuantCase[];
};
interface QuantCase {
  id: string;
  inputDim: number;
  outputDim: number;
  weights: string[];
  q: number[];
  packed?: number[];
  values?: number[];
  scales: string[];
  dequantized: string[];
}

const fromHex = (hex: readonly string[]) => new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("Keras 3's per-channel int4 (Embedding.quantize('int4'))", () => {
  for (const c of FIXTURE.int4) {
    it(`${c.id}: packed bytes, scales and dequantized values are Keras's, bit for bit`, () => {
      const w = fromHex(c.weights);
      const { packed, scales } = encodeInt4(w, c.inputDim, c.outputDim);
      expect(bits(scales)).toEqual(bits(fromHex(c.scales)));
      expect(Array.from(packed)).toEqual(c.packed);
      const bytes = int4RowBytes(c.outputDim);
      const unpacked = [];
      for (let r = 0; r < c.inputDim; r++) for (let k = 0; k < c.outputDim; k++) unpacked.push(int4At(packed, r * bytes, k));
      expect(unpacked).toEqual(c.q);
      expect(bits(decodeInt4(packed, scales, c.outputDim))).toEqual(bits(fromHex(c.dequantized)));
    });
  }

  it('stays within the documented bound of STORAGE.int4 on 300 x 9 random rows of mixed magnitude', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const rows = 300;
    const d = 9;
    const w = Float32Array.from({ length: rows * d }, () => Math.fround((rand() * 2 - 1) * 10 ** Math.floor(rand() * 8 - 5)));
    const { packed, scales } = encodeInt4(w, rows, d);
    expect(packed.length).toBe(rows * 5);
    const back = decodeInt4(packed, scales, d);
    const { relative, absolute } = STORAGE.int4.bound;
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let c = 0; c < d; c++) max = Math.max(max, Math.abs(w[r * d + c]!));
      for (let c = 0; c < d; c++) expect(Math.abs(back[r * d + c]! - w[r * d + c]!)).toBeLessThanOrEqual(relative * max + absolute);
    }
  });

  it('stores NaN as 0, +Infinity as 7 and -Infinity as -8 (clipped) with the scale of the finite values', () => {
    const w = Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5]);
    const { packed, scales } = encodeInt4(w, 1, 4);
    expect([0, 1, 2, 3].map((c) => int4At(packed, 0, c))).toEqual([0, 7, -8, 7]);
    expect(scales[0]).toBe(Math.fround(7 / Math.fround(0.5 + Math.fround(1e-7))));
  });
});

describe("Keras 3's int8 (Embedding.quantize('int8')) against the same fixture script", () => {
  for (const c of FIXTURE.int8) {
    it(`${c.id}: values, scales and dequantized values bit for bit`, () => {
      const { values, scales } = encodeInt8(fromHex(c.weights), c.inputDim, c.outputDim);
      expect(Array.from(values)).toEqual(c.values);
      expect(bits(scales)).toEqual(bits(fromHex(c.scales)));
      expect(bits(decodeInt8(values, scales, c.outputDim))).toEqual(bits(fromHex(c.dequantized)));
    });
  }
});
