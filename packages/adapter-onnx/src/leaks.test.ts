import { checkHeapGrowth, liveObjects, settledHeap } from '@embedding-layer/conformance/vitest';
import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOnnxBackend, predictTensor } from './index.js';
import type { OnnxRuntime } from './runtime/load-runtime.js';
import { codeOf } from './testing/helpers.js';

/** The real onnxruntime-node, wrapped to count sessions created and released (and nothing else retained). */
function countingRuntime(): { runtime: OnnxRuntime; counts: { create: number; release: number } } {
  const counts = { create: 0, release: 0 };
  const create = async (...args: unknown[]) => {
    counts.create++;
    const session = await (ort.InferenceSession.create as (...a: unknown[]) => Promise<ort.InferenceSession>)(...args);
    const release = session.release.bind(session);
    Object.assign(session, {
      release: () => {
        counts.release++;
        return release();
      },
    });
    return session;
  };
  return { runtime: { Tensor: ort.Tensor, InferenceSession: { create } } as unknown as OnnxRuntime, counts };
}

const STORAGES = ['float32', 'float16', 'int8'] as const;

describe.each(STORAGES)('no leaks on adapter-onnx, storage %s', (storage) => {
  it('10,000 lookups (predict, predict into out, computeMask, predictTensor; setWeights every 10th) and 1,000 rejected training calls: no output stays alive, the heap grows by at most 32 bytes per call; dispose releases the session once', async () => {
    const { runtime, counts } = countingRuntime();
    const layer = await Embedding.create(
      { inputDim: 500, outputDim: 16, maskZero: true, seed: 1 },
      { backend: createOnnxBackend({ runtime, ...(storage === 'float32' ? {} : { storage }) }) },
    );
    // float32: a second session holds the (small) table until the first setWeights drops it.
    const sessions = storage === 'float32' ? 2 : 1;
    expect(counts).toEqual({ create: sessions, release: 0 });
    const ids = new Int32Array([0, 17, 499, 3, 3, 250]);
    const input = { data: ids, shape: [2, 3] };
    const out = new Float32Array(6 * 16);
    const gradient = new Float32Array(6 * 16).fill(0.5);
    const tensor = new ort.Tensor('int32', ids, [2, 3]);
    const table = Float32Array.from({ length: 500 * 16 }, (_, i) => Math.sin(i));
    const outputs = liveObjects();
    const lookups = async (n: number, track: boolean) => {
      for (let i = 0; i < n; i++) {
        const fresh = await layer.predict(input);
        const into = await layer.predict(input, { out });
        const mask = layer.computeMask(input);
        const viaTensor = await predictTensor(layer, tensor);
        if (i % 10 === 0) layer.setWeights([table]); // re-encodes the table (quantized storage)
        if (track) for (const value of [fresh, fresh.data, into, mask, viaTensor]) if (value) outputs.track(value);
      }
    };
    const training = async (n: number) => {
      for (let i = 0; i < n; i++) {
        expect(await codeOf(() => layer.applyGradients(input, gradient, { learningRate: 0.001 }))).toBe('UNSUPPORTED_FEATURE');
      }
    };
    await lookups(200, false);
    await training(50);
    const before = settledHeap();
    await lookups(10_000, false);
    await training(1_000);
    const after = settledHeap();
    checkHeapGrowth(`adapter-onnx ${storage}`, before, after, 4 * 10_000 + 1_000 + 1_000);
    // Then count live objects (apart: tracking costs heap): every output object, its data, every
    // mask and every ort.Tensor result is garbage once the caller drops it.
    await lookups(1_000, true);
    expect(outputs.tracked).toBe(5_000);
    expect(await outputs.live()).toBeLessThanOrEqual(5);
    expect(counts).toEqual({ create: sessions, release: sessions - 1 });
    await layer.dispose();
    expect(counts).toEqual({ create: sessions, release: sessions });
    await layer.dispose(); // idempotent: no second release
    expect(counts).toEqual({ create: sessions, release: sessions });
  }, 120_000);
});
