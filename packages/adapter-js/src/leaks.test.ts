import { checkHeapGrowth, liveObjects, settledHeap } from '@embedding-layer/conformance/vitest';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from './index.js';

describe.each(['float32', 'float16', 'int8'] as const)('no leaks on adapter-js, storage %s', (storage) => {
  it('10,000 lookups (predict, predict into out, computeMask) and 1,000 training steps (rmsprop, mse): no output stays alive, the heap grows by at most 32 bytes per call', async () => {
    const layer = await Embedding.create(
      { inputDim: 500, outputDim: 16, maskZero: true, seed: 1 },
      { backend: createJsBackend({ storage }) },
    );
    const ids = new Int32Array([0, 17, 499, 3, 3, 250]);
    const input = { data: ids, shape: [2, 3] };
    const out = new Float32Array(6 * 16);
    const targets = new Float32Array(6 * 16).fill(0.25);
    layer.compile('rmsprop', 'mse');
    const outputs = liveObjects();
    const lookups = async (n: number, track: boolean) => {
      for (let i = 0; i < n; i++) {
        const fresh = await layer.predict(input);
        const into = await layer.predict(input, { out });
        const mask = layer.computeMask(input);
        if (track) {
          outputs.track(fresh);
          outputs.track(fresh.data);
          outputs.track(into);
          if (mask) outputs.track(mask);
        }
      }
    };
    const training = async (n: number) => {
      for (let i = 0; i < n; i++) await layer.trainOnBatch(input, targets);
    };
    // Warm up (JIT, the optimizer's slots), then take the baseline.
    await lookups(200, false);
    await training(50);
    const before = settledHeap();
    await lookups(10_000, false);
    await training(1_000);
    const after = settledHeap();
    checkHeapGrowth(`adapter-js ${storage}`, before, after, 3 * 10_000 + 1_000);
    // Then count live objects (apart: tracking costs heap): every output, its data and every
    // mask is garbage once the caller drops it.
    await lookups(1_000, true);
    expect(outputs.tracked).toBe(4_000);
    expect(await outputs.live()).toBeLessThanOrEqual(4);
    await layer.dispose();
  }, 120_000);
});
