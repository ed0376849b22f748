import { randomIndices } from '@embedding-layer/conformance';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createTfjsBackend } from './index.js';

describe('the seed example trains on the TF.js backend: compile("rmsprop", "mse") then fit', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`lowers the loss on random targets (${backend})`, async () => {
      const layer = await Embedding.create(
        { inputDim: 1000, outputDim: 64, inputLength: 10, seed: 42 },
        { backend: await createTfjsBackend({ backend }) },
      );
      layer.compile('rmsprop', 'mse');
      const x = { data: randomIndices(7, 320, 1000), shape: [32, 10] };
      const y = Float32Array.from(randomIndices(3, 32 * 10 * 64, 2001), (v) => (v - 1000) / 1000);
      const before = await layer.evaluate(x, y);
      const history = await layer.fit(x, y, { epochs: 20, batchSize: 8, seed: 1 });
      expect(history.history.loss[19]!).toBeLessThan(history.history.loss[0]!);
      expect(await layer.evaluate(x, y)).toBeLessThan(before * 0.98);
      await layer.dispose();
    });
  }
});
