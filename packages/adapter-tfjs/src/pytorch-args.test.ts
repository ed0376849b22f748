import { Embedding as CoreEmbedding } from '@embedding-layer/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createTfjsBackend, registerEmbeddingLayer } from './index.js';

describe("PyTorch's arguments on adapter-tfjs", () => {
  it('the tf.layers.Layer refuses them with INVALID_CONFIG instead of ignoring them', () => {
    const Embedding = registerEmbeddingLayer(tf);
    for (const extra of [
      { paddingIdx: 0 },
      { maxNorm: 1 },
      { normType: 1 },
      { scaleGradByFreq: true },
      { loraRank: 2 },
      { loraAlpha: 4 },
    ]) {
      expect(() => new Embedding({ inputDim: 4, outputDim: 2, ...extra } as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining(Object.keys(extra)[0]!) }),
      );
    }
    expect(new Embedding({ inputDim: 4, outputDim: 2 }).inputDim).toBe(4);
  });

  it("core's Embedding on the tfjs backend takes them (max_norm renormalizes looked-up rows in the table; given weights keep the padding row)", async () => {
    const layer = await CoreEmbedding.create(
      { inputDim: 4, outputDim: 2, paddingIdx: -1, maxNorm: 0.5 },
      {
        backend: await createTfjsBackend({ backend: 'cpu' }),
        weights: [
          [
            [3, 4],
            [0.1, 0.1],
            [1, 0],
            [5, 5],
          ],
        ],
      },
    );
    await layer.predict([0, 1]);
    const w = (await layer.getWeights())[0]!;
    expect(Math.hypot(w[0]!, w[1]!)).toBeCloseTo(0.5, 6);
    expect(Array.from(w.subarray(2))).toEqual(Array.from(Float32Array.from([0.1, 0.1, 1, 0, 5, 5])));
    expect(layer.config.paddingIdx).toBe(3);
    await layer.dispose();
  });
});
