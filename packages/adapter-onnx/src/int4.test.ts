import { readFileSync } from 'node:fs';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createOnnxBackend } from './index.js';

/** conformance/scripts/make_keras3_fixtures.py: Keras 3's per-channel int4 of each table, in NumPy. */
const FIXTURE = JSON.parse(readFileSync(new URL('../../../conformance/fixtures/keras3.json', import.meta.url), 'utf8')) as {
  int4: { id: string; inputDim: number; outputDim: number; weights: string[]; dequantized: string[] }[];
};
const fromHex = (hex: readonly string[]) => new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("storage 'int4': Keras 3's packed per-row int4, unpacked in the ONNX graph", () => {
  for (const c of FIXTURE.int4) {
    it(`${c.id}: onnxruntime-node's lookups are Keras's q / scale, bit for bit (2-D indices, repeated rows)`, async () => {
      const layer = await Embedding.create(
        { inputDim: c.inputDim, outputDim: c.outputDim },
        { backend: createOnnxBackend({ storage: 'int4' }), weights: [fromHex(c.weights)] },
      );
      try {
        const ids = Array.from({ length: c.inputDim }, (_, i) => c.inputDim - 1 - i);
        const input = [ids, [...ids].reverse(), ids.map((i) => (i * 3) % c.inputDim)];
        const out = await layer.predict(input);
        expect(out.shape).toEqual([3, c.inputDim, c.outputDim]);
        const expected = fromHex(c.dequantized);
        const rows: number[] = [];
        for (const r of input.flat()) rows.push(...bits(expected.subarray(r * c.outputDim, (r + 1) * c.outputDim)));
        expect(bits(out.data)).toEqual(rows);
        expect(layer.describe().storedBytes).toBe(c.inputDim * (Math.ceil(c.outputDim / 2) + 4));
        // writeRows quantizes the new rows again; the graph reads them on the next run.
        await layer.writeRows(1, fromHex(c.weights).subarray(0, c.outputDim));
        expect(bits((await layer.predict([1])).data)).toEqual(bits(expected.subarray(0, c.outputDim)));
      } finally {
        await layer.dispose();
      }
    });
  }
});
