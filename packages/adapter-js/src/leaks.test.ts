import { HEAP_GROWTH_BOUND, reportHeapGrowth, settledHeap } from '@embedding-layer/conformance/vitest';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from './index.js';

describe.each(['float32', 'float16', 'int8'] as const)('no leaks on adapter-js, storage %s', (storage) => {
  it('10,000 lookups (predict, predict into out, computeMask) and 1,000 training steps (rmsprop, mse) leave the heap flat', async () => {
    const layer = await Embedding.create(
      { inputDim: 500, outputDim: 16, maskZero: true, seed: 1 },
      { backend: createJsBackend({ storage }) },
    );
    const ids = new Int32Array([0, 17, 499, 3, 3, 250]);
    const input = { data: ids, shape: [2, 3] };
    const out = new Float32Array(6 * 16);
    const targets = new Float32Array(6 * 16).fill(0.25);
    layer.compile('rmsprop', 'mse');
    const lookups = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await layer.predict(input);
        await layer.predict(input, { out });
        layer.computeMask(input);
      }
    };
    const training = async (n: number) => {
      for (let i = 0; i < n; i++) await layer.trainOnBatch(input, targets);
    };
    // Warm up (JIT, the optimizer's slots), then take the baseline.
    await lookups(200);
    await training(50);
    const before = settledHeap();
    await lookups(10_000);
    await training(1_000);
    const after = settledHeap();
    reportHeapGrowth(`adapter-js ${storage}`, before, after);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_GROWTH_BOUND);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(HEAP_GROWTH_BOUND);
    await layer.dispose();
  }, 120_000);
});
