import { randomWords } from '@embedding-layer/conformance';
import { Embedding, type EmbeddingOutput } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from './index.js';

describe('adapter-js: fresh outputs given back with dispose() and reused by the next lookup of their size', () => {
  for (const kernel of ['wasm', 'js'] as const) {
    it(`${kernel} path: every output has the exact bits of its rows, whatever the reused memory held`, async () => {
      const rows = 97;
      const width = 16;
      const raw = randomWords(5, rows * width);
      const layer = await Embedding.create(
        { inputDim: rows, outputDim: width },
        { backend: createJsBackend({ kernel }), weights: [new Float32Array(raw.buffer)] },
      );
      let previous: EmbeddingOutput | null = null;
      // Two sizes interleaved: a reused buffer is only ever one of the same size.
      for (let call = 0; call < 40; call++) {
        const count = call % 3 === 0 ? 5 : 130;
        const ids = Int32Array.from(randomWords(call + 11, count), (v) => v % rows);
        const y = await layer.predict(ids);
        const want = new Uint32Array(count * width);
        for (let i = 0; i < count; i++) want.set(raw.subarray(ids[i]! * width, (ids[i]! + 1) * width), i * width);
        expect(new Uint32Array(y.data.buffer, y.data.byteOffset, y.data.length), `call ${call}`).toEqual(want);
        previous?.dispose?.();
        if (previous) expect(previous.data.length).toBe(0);
        previous = y;
      }
      await layer.dispose();
    });
  }
});
