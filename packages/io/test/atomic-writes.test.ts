import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEmbedding, type SaveEmbeddingOptions, saveEmbedding } from '../src/index.js';
import { ioTestHooks } from '../src/util/fs.js';
import { smallLayer } from './fuzz/bases.js';
import { sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-atomic-');
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  ioTestHooks.writeFile = undefined;
  ioTestHooks.afterTempWrite = undefined;
});

const CASES: { name: string; file: string; options?: SaveEmbeddingOptions }[] = [
  { name: 'keras-h5', file: 'm.h5' },
  { name: 'keras-h5 (weights only)', file: 'w.h5', options: { weightsOnly: true } },
  { name: 'keras', file: 'm.keras' },
  { name: 'keras (int8)', file: 'q.keras', options: { kerasQuantize: 'int8' } },
  { name: 'tfjs (3 shards)', file: 'model.json', options: { shardBytes: 40 } },
  { name: 'onnx', file: 'm.onnx' },
  { name: 'onnx (external data)', file: 'x.onnx', options: { onnxExternalData: true } },
  { name: 'npy', file: 'm.npy' },
  { name: 'safetensors', file: 'm.safetensors' },
];

/** Every file in the directory with its bytes. */
async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) out.set(name, await readFile(join(dir, name)));
  return out;
}

describe('atomic writes: a save that fails midway leaves the previous file intact and no temp file', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const dir = join(tmp.dir, c.name.replace(/\W+/g, '-'));
      await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
      const path = join(dir, c.file);
      const first = smallLayer(6, 4);
      await saveEmbedding(path, first, c.options);
      const before = await snapshot(dir);
      const second = smallLayer(6, 4);
      second.weights.fill(9);

      // 1. A write that stops after half of the bytes (a full disk): the temp file is partial.
      let partial = 0;
      ioTestHooks.writeFile = async (p, bytes) => {
        partial++;
        await writeFile(p, bytes.subarray(0, bytes.length >> 1));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      };
      // keras-h5's HDF5 temp file is written by h5wasm itself: fail right after it instead.
      ioTestHooks.afterTempWrite = c.name.startsWith('keras-h5')
        ? () => {
            partial++;
            throw new Error('simulated failure after the temp file was written');
          }
        : undefined;
      await expect(saveEmbedding(path, second, c.options)).rejects.toThrow(/ENOSPC|simulated failure/);
      expect(partial).toBeGreaterThan(0);
      expect(await snapshot(dir)).toEqual(before);

      // 2. A failure after the first temp file is complete (for tfjs: after a shard, before model.json).
      ioTestHooks.writeFile = undefined;
      let calls = 0;
      ioTestHooks.afterTempWrite = () => {
        calls++;
        if (calls === (c.file === 'model.json' ? 2 : 1)) throw new Error('simulated failure between files');
      };
      await expect(saveEmbedding(path, second, c.options)).rejects.toThrow(/simulated failure/);
      expect(await snapshot(dir)).toEqual(before);

      // The previous file still reads back bit for bit.
      ioTestHooks.afterTempWrite = undefined;
      const back = await readEmbedding(path);
      if (c.options?.kerasQuantize) expect(back.weights.length).toBe(24);
      else expect(sameBits(back.weights, first.weights)).toBe(true);
    });
  }
});
