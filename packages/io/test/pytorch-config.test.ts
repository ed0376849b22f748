import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding, PYTORCH_CONFIG_KEYS } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toKeras2LayerConfig } from '../src/formats.js';
import { loadEmbedding, saveEmbedding } from '../src/index.js';
import { makeTempDir } from './tmp.js';

/** The keyword arguments tf-keras 2.15's `Embedding(**config)` accepts (its own and the base Layer's). */
const KERAS2_KEYS = new Set([
  'name',
  'trainable',
  'dtype',
  'batch_input_shape',
  'input_dim',
  'output_dim',
  'embeddings_initializer',
  'embeddings_regularizer',
  'activity_regularizer',
  'embeddings_constraint',
  'mask_zero',
  'input_length',
]);

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-pytorch-');
});
afterAll(() => tmp.cleanup());

describe("PyTorch's arguments in model files", () => {
  it('Keras 2 / TF.js configs leave out padding_idx, max_norm, norm_type, scale_grad_by_freq; the padding row of zeros is kept; safetensors keeps the rules', async () => {
    const backend = createJsBackend();
    const config = { inputDim: 5, outputDim: 2, paddingIdx: -1, maxNorm: 3, normType: 1, scaleGradByFreq: true, seed: 1 };
    const layer = await Embedding.create(config, { backend });
    expect(Object.keys(layer.getConfig())).toEqual(expect.arrayContaining([...PYTORCH_CONFIG_KEYS]));
    for (const key of Object.keys(toKeras2LayerConfig(layer.config))) expect(KERAS2_KEYS.has(key), key).toBe(true);
    const written = (await layer.getWeights())[0]!;
    expect(Array.from(written.subarray(8))).toEqual([0, 0]);
    for (const file of ['m.h5', 'm.keras', 'model.json']) {
      const path = join(tmp.dir, file);
      await saveEmbedding(path, layer);
      if (file !== 'm.keras') {
        const bytes = await readFile(path, 'latin1');
        for (const key of PYTORCH_CONFIG_KEYS) expect(bytes.includes(`"${key}"`), `${file} holds ${key}`).toBe(false);
      }
      const back = await loadEmbedding(path, { backend });
      expect([back.config.paddingIdx, back.config.maxNorm, back.config.scaleGradByFreq]).toEqual([null, null, false]);
      expect((await back.getWeights())[0]).toEqual(written);
      const given = await loadEmbedding(path, { backend, config: { paddingIdx: -1, maxNorm: 3 } });
      expect([given.config.paddingIdx, given.config.maxNorm]).toEqual([4, 3]);
    }
    const st = join(tmp.dir, 'm.safetensors');
    await saveEmbedding(st, layer);
    const back = await loadEmbedding(st, { backend });
    expect([back.config.paddingIdx, back.config.maxNorm, back.config.normType, back.config.scaleGradByFreq]).toEqual([4, 3, 1, true]);
  });
});
