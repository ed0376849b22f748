import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveConfig } from '@embedding-layer/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
// The CLI's command files (packages/cli/src/commands), tested here against the real fixtures.
import { registerConvert } from '../../cli/src/commands/convert.js';
import { registerInspect } from '../../cli/src/commands/inspect.js';
import { readEmbedding } from '../src/index.js';
import { REAL, realPath, sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

// The commander the CLI itself depends on (the root node_modules may hold an older one).
const commanderPath = createRequire(new URL('../../cli/package.json', import.meta.url)).resolve('commander');
const { Command } = (await import(pathToFileURL(commanderPath).href)) as typeof import('commander');

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-cli-');
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

async function run(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const program = new Command().exitOverride();
  // Typed against the root commander; at run time it is the CLI's own (same API).
  registerInspect(program as unknown as Parameters<typeof registerInspect>[0]);
  registerConvert(program as unknown as Parameters<typeof registerConvert>[0]);
  process.exitCode = undefined;
  await program.parseAsync(['node', 'embedding-layer', ...args]);
  const code = Number(process.exitCode ?? 0);
  vi.restoreAllMocks();
  return { out: out.join('\n'), err: err.join('\n'), code };
}

describe('embedding-layer CLI', () => {
  it('inspect lists name, input_dim, output_dim, mask_zero, dtype, bytes', async () => {
    const { out, code } = await run('inspect', realPath(REAL.conv1d));
    expect(code).toBe(0);
    expect(out).toMatch(/\(keras-h5\): 1 Embedding layer/);
    expect(out).toMatch(/name\s+input_dim\s+output_dim\s+mask_zero\s+dtype\s+bytes/);
    expect(out).toMatch(/embedding_1\s+200\s+50\s+false\s+float32\s+40000/);
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
      expect(inspected.out).toMatch(/\s10\s+8\s+false\s+float32\s+320/);
    });
  }

  it('clear errors for unknown, damaged or missing files, and nothing is written', async () => {
    const junk = join(tmp.dir, 'junk.bin');
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
    const unknownOut = await run('convert', realPath(REAL.misc0), join(tmp.dir, 'x.unknown'));
    expect(unknownOut.code).toBe(1);
    expect(unknownOut.err).toMatch(/cannot tell the format from the extension/);
    expect((await readdir(tmp.dir)).sort()).toEqual(before.sort());
  });

  it('--layer picks a layer and names the ones there are when it is wrong', async () => {
    const ok = await run('convert', realPath(REAL.keras3), join(tmp.dir, 'k3.npy'), '--layer', 'embedding_1');
    expect(ok.code).toBe(0);
    const bad = await run('convert', realPath(REAL.keras3), join(tmp.dir, 'k3b.npy'), '--layer', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/no Embedding layer named "nope"; the file holds: "embedding_1"/);
    expect(existsSync(join(tmp.dir, 'k3b.npy'))).toBe(false);
  });
});
