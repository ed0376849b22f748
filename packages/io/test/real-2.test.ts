import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectModel, loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { describeShared, firstBitDifference, REAL2, type Real2Fixture, real2Expected, real2Path } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-real2-');
});
afterAll(() => tmp.cleanup());

const TARGETS = ['out.h5', 'out.keras', 'model.json', 'out.onnx', 'out.npy', 'out.safetensors'];

/**
 * Every file of shared/fixtures/real-2 (SOURCES.md there: origin, licence, layout): each table
 * read through the io API is bit for bit its expected*.npy (every value), the summary says what
 * the file holds (input_length, mask_zero, unknown without a config), and a layer loaded from it
 * saved in every format reads back bit for bit.
 */
describeShared('real-2', 'real-2 files through the io API', () => {
  for (const [key, fx] of Object.entries(REAL2) as [string, Real2Fixture][]) {
    describe(fx.file, () => {
      it(`reads ${fx.tables.length === 1 ? 'its table' : `all ${fx.tables.length} tables`} bit for bit, where SOURCES.md says they are`, async () => {
        const records = await readEmbeddings(real2Path(fx));
        expect(records.map((r) => [r.name, r.location, r.inputDim, r.outputDim, r.format])).toEqual(
          fx.tables.map((t) => [t.name, t.location, t.inputDim, t.outputDim, fx.format]),
        );
        for (const [i, t] of fx.tables.entries()) {
          const expected = real2Expected(fx, t);
          expect(records[i]!.weights.length).toBe(expected.length);
          expect(firstBitDifference(records[i]!.weights, expected), `${t.name}: first value whose bits differ`).toBe(-1);
        }
      });

      it('inspect: dims, input_length and mask_zero as the file has them (unknown without a config)', async () => {
        const summary = await inspectModel(real2Path(fx));
        expect(summary.map((s) => [s.name, s.inputDim, s.outputDim, s.maskZero, s.hasConfig])).toEqual(
          fx.tables.map((t) => [t.name, t.inputDim, t.outputDim, t.maskZero, t.maskZero !== null]),
        );
        for (const [i, t] of fx.tables.entries()) {
          if (t.inputLength === undefined) expect('inputLength' in summary[i]!, t.name).toBe(false);
          else expect(summary[i]!.inputLength, t.name).toBe(t.inputLength);
        }
      });

      it('loads each table into a layer that predicts its rows, and saves it in every format bit for bit', async () => {
        if (fx.tables.length > 1) {
          const error = await readEmbedding(real2Path(fx)).catch((e: unknown) => e);
          expect(BadFileError.isInstance(error)).toBe(true);
          for (const t of fx.tables)
            expect((error as Error).message).toContain(`"${t.name}" [${t.inputDim}, ${t.outputDim}] at ${t.location}`);
        }
        for (const t of fx.tables) {
          const expected = real2Expected(fx, t);
          const layer = await loadEmbedding(real2Path(fx), { backend: createJsBackend(), layer: t.name });
          try {
            const length = typeof layer.config.inputLength === 'number' ? layer.config.inputLength : 3;
            const last = t.inputDim - 1;
            const ids = Array.from({ length }, (_, i) => [0, 1, last][i] ?? 0);
            const out = (await layer.predict([ids])).data as Float32Array;
            const d = t.outputDim;
            expect(
              firstBitDifference(out.subarray(0, 3 * d), Float32Array.of(...expected.subarray(0, 2 * d), ...expected.subarray(last * d))),
            ).toBe(-1);
            const dir = join(tmp.dir, `${key}-${t.name}`);
            await mkdir(dir);
            for (const target of TARGETS) {
              const path = join(dir, target);
              await saveEmbedding(path, layer);
              const back = await readEmbedding(path);
              expect(firstBitDifference(back.weights, expected), `${t.name} -> ${target}`).toBe(-1);
              if (target !== 'out.npy') expect(resolveConfig(back.config).maskZero, target).toBe(t.maskZero === true);
            }
          } finally {
            await layer.dispose();
          }
        }
      });
    });
  }

  it("Keras 1.2.2 configs read as Keras 2 reads them, with notes; the file's own config is kept as written", async () => {
    for (const fx of [REAL2.keras1Tf!, REAL2.keras1Theano!]) {
      const record = await readEmbedding(real2Path(fx));
      const config = resolveConfig(record.config);
      expect(config).toMatchObject({ name: 'embedding_1', inputDim: 4, outputDim: 5, inputLength: 10, maskZero: false, dtype: 'float32' });
      expect(config.embeddingsInitializer).toEqual({ className: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } });
      expect(record.sourceConfig).toMatchObject({
        input_dtype: 'int32',
        init: 'uniform',
        W_regularizer: null,
        W_constraint: null,
        dropout: 0,
      });
      expect(record.notes.join('\n')).toMatch(
        /Keras 1 config keys read as Keras 2's legacy converter renames them: init -> embeddings_initializer/,
      );
    }
  });

  it('the DeepFM file: the one mask_zero table among six keeps it', async () => {
    const record = await readEmbedding(real2Path(REAL2.deepfm!), { layer: 'cat_embed_1d_genre' });
    expect(record.config.maskZero).toBe(true);
    expect(record.storedDtype).toBe('float32');
  });
});
