import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readEmbedding } from '../src/index.js';
import { runCli } from './cli-run.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-wv-cli-');
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

const run = runCli;

describe('embedding-layer convert on word vectors', () => {
  it('vectors.txt -> out.safetensors + vocab.txt, with a mask row and an OOV row; the table reads back bit for bit', async () => {
    const input = join(tmp.dir, 'vectors.txt');
    await writeFile(input, 'the 0.418 0.24968 -0.41242\ncat -0.15 1e-3 2.5E+1\nsat 7 -1.25 0.000001\n');
    const output = join(tmp.dir, 'out.safetensors');
    const { out, code, err } = await run('convert', input, output, '--mask-token', '', '--oov-token', '[UNK]', '--limit', '2');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/\(glove\) -> .*out\.safetensors \(safetensors\): \[4, 3\], vocabulary in .*vocab\.txt/);
    expect(await readFile(join(tmp.dir, 'vocab.txt'), 'utf8')).toBe('\n[UNK]\nthe\ncat\n');
    const record = await readEmbedding(output);
    expect(record.config.maskZero).toBe(true);
    expect(Array.from(record.weights)).toEqual([0, 0, 0, 0, 0, 0, 0.418, 0.24968, -0.41242, -0.15, 1e-3, 2.5e1].map((v) => Math.fround(v)));
  });

  it('a ragged file fails with its line and word, and writes nothing', async () => {
    const dir = join(tmp.dir, 'bad');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    const input = join(dir, 'vectors.vec');
    await writeFile(input, '2 3\nthe 1.0 2.0 3.0\ncat 1.0 2.0\n');
    const { code, err } = await run('convert', input, join(dir, 'out.npy'));
    expect(code).toBe(1);
    expect(err).toMatch(/line 3 \("cat"\): 2 values, expected 3 \(a ragged line\)/);
    expect((await import('node:fs/promises').then((fs) => fs.readdir(dir))).sort()).toEqual(['vectors.vec']);
  });
});
