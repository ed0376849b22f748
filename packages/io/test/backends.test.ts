import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createOnnxBackend } from '@embedding-layer/adapter-onnx';
import { createTfjsBackend } from '@embedding-layer/adapter-tfjs';
import { type EmbeddingBackend, resolveConfig } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbedding, readEmbedding, saveEmbedding } from '../src/index.js';
import { describeShared, REAL, realPath, rowStart, sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-backends-');
});
afterAll(() => tmp.cleanup());

const BACKENDS: [string, () => Promise<EmbeddingBackend> | EmbeddingBackend][] = [
  ['js', () => createJsBackend()],
  ['tfjs-cpu', () => createTfjsBackend({ backend: 'cpu' })],
  ['onnx', () => createOnnxBackend()],
];
const TARGETS = ['out.h5', 'out.keras', 'model.json', 'out.onnx', 'out.npy', 'out.safetensors'];

/**
 * Every real file loads into a layer on every backend with the documented rows, and the layer
 * (its getWeights) saved in every format reads back bit for bit.
 */
describeShared('real', 'real files on every backend', () => {
  describe.each(BACKENDS)('real files on the %s backend', (backendName, createBackend) => {
    for (const [key, fx] of Object.entries(REAL)) {
      it(`${fx.file}: loads, predicts the documented rows, and round-trips through all six formats`, async () => {
        const record = await readEmbedding(realPath(fx));
        const layer = await loadEmbedding(realPath(fx), { backend: await createBackend() });
        try {
          const weights = (await layer.getWeights())[0]!;
          expect(sameBits(weights, record.weights)).toBe(true);
          const length = typeof layer.config.inputLength === 'number' ? layer.config.inputLength : 3;
          const ids = Array.from({ length }, (_, i) => (i < 3 ? i : 0));
          const out = (await layer.predict([ids])).data as Float32Array;
          const n = fx.rows[0].length;
          for (let r = 0; r < 3; r++) expect(rowStart(out, fx.outputDim, r, n)).toEqual(fx.rows[r]);
          const dir = join(tmp.dir, `${backendName}-${key}`);
          await (await import('node:fs/promises')).mkdir(dir);
          for (const target of TARGETS) {
            const path = join(dir, target);
            await saveEmbedding(path, layer);
            const back = await readEmbedding(path);
            expect(sameBits(back.weights, weights), `${target}`).toBe(true);
            expect([back.inputDim, back.outputDim]).toEqual([fx.inputDim, fx.outputDim]);
            if (target !== 'out.npy') expect(resolveConfig(back.config).maskZero).toBe(layer.config.maskZero);
          }
        } finally {
          await layer.dispose();
        }
      });
    }
  });
});
