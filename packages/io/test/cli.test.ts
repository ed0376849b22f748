import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveConfig } from '@embedding-layer/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readEmbedding, saveEmbedding } from '../src/index.js';
import { runCli } from './cli-run.js';
import {
  describeShared,
  firstBitDifference,
  REAL,
  REAL2,
  readFloat32Npy,
  real2Expected,
  real2Path,
  realPath,
  sameBits,
} from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-cli-');
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

const run = runCli;

describeShared('real', 'embedding-layer CLI on the real files', () => {
  it('inspect lists name, input_dim, output_dim, input_length, mask_zero, dtype, bytes, location', async () => {
    const { out, code } = await run('inspect', realPath(REAL.conv1d));
    expect(code).toBe(0);
    expect(out).toMatch(/\(keras-h5\): 1 Embedding layer/);
    expect(out).toMatch(/name\s+input_dim\s+output_dim\s+input_length\s+mask_zero\s+dtype\s+bytes\s+location/);
    expect(out).toMatch(/embedding_1\s+200\s+50\s+10\s+false\s+float32\s+40000\s+model_weights\/embedding_1\/embedding_1\/embeddings:0/);
  });

  const targets = ['out.keras', 'model.json', 'out.onnx', 'out.npy', 'out.safetensors'];
  for (const target of targets) {
    it(`converts the Keras 2 .h5 file to ${target} and back, bit-exactly`, async () => {
      const dir = join(tmp.dir, target.replace('.', '_'));
      await (await import('node:fs/promises')).mkdir(dir);
      const original = await readEmbedding(realPath(REAL.misc0));
      const there = join(dir, target);
      const first = await run('convert', realPath(REAL.misc0), there);
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      const back = join(dir, 'back.h5');
      const second = await run('convert', there, back);
      expect(second.code).toBe(0);
      const record = await readEmbedding(back);
      expect(sameBits(record.weights, original.weights)).toBe(true);
      expect([record.inputDim, record.outputDim]).toEqual([10, 8]);
      // .npy holds no config; every other format keeps it, except that Keras 3 initializers
      // take no `dtype` argument, so the .keras writer drops misc_0's initializer dtype key.
      const expected = resolveConfig(original.config);
      const got = resolveConfig(record.config);
      if (target === 'out.keras') {
        const { dtype, ...rest } = expected.embeddingsInitializer.config;
        expect(dtype).toBe('float32');
        expect(got).toEqual({ ...expected, embeddingsInitializer: { ...expected.embeddingsInitializer, config: rest } });
      } else if (target !== 'out.npy') expect(got).toEqual(expected);
      const inspected = await run('inspect', there);
      // misc_0's input_length is null (any length); .npy holds no config, so mask_zero and input_length are unknown there.
      expect(inspected.out).toMatch(
        target === 'out.npy' ? /\s10\s+8\s+unknown\s+unknown\s+float32\s+320/ : /\s10\s+8\s+-\s+false\s+float32\s+320/,
      );
    });
  }

  it('--layer picks a layer and names the ones there are when it is wrong', async () => {
    const ok = await run('convert', realPath(REAL.keras3), join(tmp.dir, 'k3.npy'), '--layer', 'embedding_1');
    expect(ok.code).toBe(0);
    const bad = await run('convert', realPath(REAL.keras3), join(tmp.dir, 'k3b.npy'), '--layer', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(
      /no Embedding layer named "nope"; the file holds: "embedding_1" \[10000, 16\] at model\.weights\.h5:layers\/embedding\/vars\/0/,
    );
    expect(existsSync(join(tmp.dir, 'k3b.npy'))).toBe(false);
  });
});

describeShared('real', 'embedding-layer CLI: every real file', () => {
  for (const [key, fx] of Object.entries(REAL)) {
    it(`${fx.file}: inspect lists ${fx.layer}; convert writes its table bit for bit`, async () => {
      const inspected = await run('inspect', realPath(fx));
      expect(inspected.code).toBe(0);
      expect(inspected.out).toMatch(new RegExp(`^${fx.layer.replace(/\W/g, '\\$&')}\\s+${fx.inputDim}\\s+${fx.outputDim}\\s`, 'm'));
      const out = join(tmp.dir, `real-${key}.npy`);
      const converted = await run('convert', realPath(fx), out);
      expect(converted.err).toBe('');
      expect(converted.code).toBe(0);
      const written = readFloat32Npy(out);
      expect(written.shape).toEqual([fx.inputDim, fx.outputDim]);
      expect(firstBitDifference(written.values, (await readEmbedding(realPath(fx))).weights)).toBe(-1);
      fx.rows.forEach((row, r) => {
        expect(Array.from(written.values.subarray(r * fx.outputDim, r * fx.outputDim + row.length))).toEqual(row);
      });
    });
  }

  it("the Keras 3 file's fixed input length (InputLayer batch_shape [null, 256]) is shown, and kept as input_length by convert", async () => {
    const inspected = await run('inspect', realPath(REAL.keras3));
    expect(inspected.out).toMatch(/embedding_1\s+10000\s+16\s+256\s+false\s+float32/);
    const out = join(tmp.dir, 'aura.h5');
    expect((await run('convert', realPath(REAL.keras3), out)).code).toBe(0);
    expect((await run('inspect', out)).out).toMatch(/embedding_1\s+10000\s+16\s+256\s+false\s+float32/);
    expect(((await readEmbedding(out)).sourceConfig as { input_length: unknown }).input_length).toBe(256);
  });

  it('a weights-only file: mask_zero and input_length are unknown', async () => {
    const { out } = await run('inspect', realPath(REAL.textgenrnn));
    expect(out).toMatch(/embedding\s+465\s+100\s+unknown\s+unknown\s+float32\s+186000\s+embedding\/embedding\/embeddings:0/);
    expect(out).toMatch(/^unknown: not in the file/m);
  });
});

describe('embedding-layer CLI', () => {
  it('clear errors for unknown, damaged or missing files, and nothing is written', async () => {
    const good = join(tmp.dir, 'good.h5');
    await saveEmbedding(good, { config: { inputDim: 3, outputDim: 2 }, weights: new Float32Array(6) });
    // Not .bin/.txt/.vec: convert reads those as word vectors (word2vec, GloVe, fastText).
    const junk = join(tmp.dir, 'junk.dat');
    await writeFile(junk, 'just some text');
    const damaged = join(tmp.dir, 'damaged.h5');
    await writeFile(damaged, new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    const before = await readdir(tmp.dir);
    for (const [input, message] of [
      [junk, /BAD_FILE.*unknown file format/],
      [damaged, /BAD_FILE.*damaged\.h5.*(HDF5|truncated|damaged)/],
      [join(tmp.dir, 'missing.h5'), /BAD_FILE.*missing\.h5.*(no such file|cannot read)/],
    ] as const) {
      const out = join(tmp.dir, 'never.safetensors');
      const { err, code } = await run('convert', input, out);
      expect(code).toBe(1);
      expect(err).toMatch(message);
      expect(existsSync(out)).toBe(false);
      expect((await run('inspect', input)).code).toBe(1);
    }
    const unknownOut = await run('convert', good, join(tmp.dir, 'x.unknown'));
    expect(unknownOut.code).toBe(1);
    expect(unknownOut.err).toMatch(/cannot tell the format from the extension/);
    expect((await readdir(tmp.dir)).sort()).toEqual(before.sort());
  });
});

describeShared('real-2', 'embedding-layer CLI on the real-2 files', () => {
  it('inspect --layer shows one table; --json says null where mask_zero is unknown', async () => {
    const one = await run('inspect', real2Path(REAL2.deepfm!), '--layer', 'cat_embed_1d_genre', '--json');
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out)).toEqual([
      {
        name: 'cat_embed_1d_genre',
        inputDim: 15,
        outputDim: 1,
        inputLength: null,
        maskZero: true,
        hasConfig: true,
        dtype: 'float32',
        bytes: 60,
        format: 'keras-h5',
        location: 'model_weights/cat_embed_1d_genre/cat_embed_1d_genre_1/embeddings:0',
      },
    ]);
    const ncf = JSON.parse((await run('inspect', real2Path(REAL2.ncf!), '--json')).out) as Record<string, unknown>[];
    expect(ncf.map((l) => [l.name, l.maskZero, l.hasConfig, 'inputLength' in l])).toEqual([
      ['item_embedding', null, false, false],
      ['user_embedding', null, false, false],
    ]);
    const wrong = await run('inspect', real2Path(REAL2.ncf!), '--layer', 'movie_embedding');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(
      /no Embedding layer named "movie_embedding"; the file holds: "item_embedding" \[3706, 8\] at item_embedding\/item_embedding_W, "user_embedding" \[6040, 8\]/,
    );
  });

  for (const [key, fx] of Object.entries(REAL2)) {
    it(`${fx.file}: inspect lists every table; convert writes each one bit for bit`, async () => {
      const inspected = await run('inspect', real2Path(fx));
      expect(inspected.err).toBe('');
      expect(inspected.code).toBe(0);
      expect(inspected.out).toContain(`(${fx.format}): ${fx.tables.length} Embedding layer`);
      for (const t of fx.tables) {
        const length = t.inputLength === undefined ? 'unknown' : t.inputLength === null ? '-' : String(t.inputLength);
        const mask = t.maskZero === null ? 'unknown' : String(t.maskZero);
        const row = inspected.out.split('\n').find((l) => l.startsWith(`${t.name} `) && l.includes(t.location));
        expect(row, `${t.name} in\n${inspected.out}`).toBeDefined();
        expect(row!.split(/\s+/).slice(1, 5)).toEqual([String(t.inputDim), String(t.outputDim), length, mask]);
      }
      const dir = join(tmp.dir, `real2-${key}`);
      await (await import('node:fs/promises')).mkdir(dir);
      for (const t of fx.tables) {
        const out = join(dir, `${t.name}.npy`);
        const args = fx.tables.length > 1 ? ['--layer', t.name] : [];
        const converted = await run('convert', real2Path(fx), out, ...args);
        expect(converted.err).toBe('');
        expect(converted.code).toBe(0);
        const written = readFloat32Npy(out);
        expect(written.shape).toEqual([t.inputDim, t.outputDim]);
        expect(firstBitDifference(written.values, real2Expected(fx, t)), `${t.name}: first value that differs`).toBe(-1);
      }
      if (fx.tables.length > 1) {
        const refused = await run('convert', real2Path(fx), join(dir, 'which.npy'));
        expect(refused.code).toBe(1);
        expect(refused.err).toMatch(new RegExp(`holds ${fx.tables.length} Embedding layers .*--layer NAME`));
        for (const t of fx.tables) expect(refused.err).toContain(`"${t.name}" [${t.inputDim}, ${t.outputDim}] at ${t.location}`);
        expect(existsSync(join(dir, 'which.npy'))).toBe(false);
      }
    });
  }
});
