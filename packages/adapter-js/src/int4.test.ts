import { readFileSync } from 'node:fs';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from './index.js';

/** conformance/scripts/make_keras3_fixtures.py: Keras 3's int4 quantization of each table, in NumPy. */
const FIXTURE = JSON.parse(readFileSync(new URL('../../../conformance/fixtures/keras3.json', import.meta.url), 'utf8')) as {
  int4: { id: string; inputDim: number; outputDim: number; weights: string[]; dequantized: string[] }[];
};
const fromHex = (hex: readonly string[]) => new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("storage 'int4': Keras 3's packed per-row int4", () => {
  for (const c of FIXTURE.int4) {
    for (const shardBytes of [undefined, 3]) {
      it(`${c.id}${shardBytes ? ' (3-byte shards)' : ''}: lookups and getWeights are Keras's dequantized values, bit for bit`, async () => {
        const backend = createJsBackend({ storage: 'int4', ...(shardBytes ? { shardBytes } : {}) });
        const layer = await Embedding.create({ inputDim: c.inputDim, outputDim: c.outputDim }, { backend, weights: [fromHex(c.weights)] });
        const ids = Int32Array.from({ length: c.inputDim }, (_, i) => c.inputDim - 1 - i);
        const out = (await layer.predict(ids)).data;
        const expected = fromHex(c.dequantized);
        const rows: number[] = [];
        for (const r of ids) rows.push(...bits(expected.subarray(r * c.outputDim, (r + 1) * c.outputDim)));
        expect(bits(out)).toEqual(rows);
        expect(bits((await layer.getWeights())[0]!)).toEqual(bits(expected));
        // Two values per byte, plus a float32 scale per row.
        expect(layer.describe().storedBytes).toBe(c.inputDim * (Math.ceil(c.outputDim / 2) + 4));
      });
    }
  }
});
