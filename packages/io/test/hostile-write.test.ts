import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidConfigError, InvalidWeightsError, resolveConfig } from '@embedding-layer/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEmbedding, type SaveEmbeddingOptions, saveEmbedding } from '../src/index.js';
import { ioTestHooks } from '../src/util/fs.js';
import { smallLayer } from './fuzz/bases.js';
import { expectRefused, treeSnapshot } from './hostile-helpers.js';
import { makeTempDir } from './tmp.js';

/*
 * Saves that must leave a whole set of files (issue: "multi-file saves are atomic per file
 * only", "writers accept what they cannot represent", "noise and raw errors").
 */

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-hostile-write-');
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  ioTestHooks.beforeRename = undefined;
  ioTestHooks.afterTempWrite = undefined;
});

let n = 0;
async function folder(): Promise<string> {
  const dir = join(tmp.dir, `case-${++n}`);
  await mkdir(dir);
  return dir;
}

function layerFilledWith(value: number, rows = 6, cols = 4) {
  const layer = smallLayer(rows, cols);
  layer.weights.fill(value);
  return layer;
}

const SETS: { name: string; file: string; first: SaveEmbeddingOptions; second: SaveEmbeddingOptions }[] = [
  { name: 'TF.js model.json + 3 shards of the same names', file: 'model.json', first: { shardBytes: 40 }, second: { shardBytes: 40 } },
  { name: 'TF.js model.json + shards (3 shards, then 2)', file: 'model.json', first: { shardBytes: 40 }, second: { shardBytes: 48 } },
  { name: 'ONNX + external data', file: 'm.onnx', first: { onnxExternalData: true }, second: { onnxExternalData: true } },
  { name: 'ONNX external data, then inline', file: 'x.onnx', first: { onnxExternalData: true }, second: {} },
];

describe('a save of several files leaves the complete old set or the complete new set', () => {
  for (const s of SETS) {
    it(`${s.name}: a failed rename of the index file keeps the old set; a good save leaves only the new set`, async () => {
      const dir = await folder();
      const path = join(dir, s.file);
      await saveEmbedding(path, layerFilledWith(1), s.first);
      const before = await treeSnapshot(dir);

      // Every part of the new set is renamed into place, then the index's rename fails.
      let renames = 0;
      ioTestHooks.beforeRename = (_temp, target) => {
        renames++;
        if (target === path) throw Object.assign(new Error('EIO: simulated failure renaming the index'), { code: 'EIO' });
      };
      await expect(saveEmbedding(path, layerFilledWith(2), s.second)).rejects.toThrow(/simulated failure renaming the index/);
      expect(renames).toBeGreaterThan(s.second.onnxExternalData || s.file === 'model.json' ? 1 : 0);
      expect(await treeSnapshot(dir)).toEqual(before);
      expect(Array.from((await readEmbedding(path)).weights)).toEqual(Array(24).fill(1));

      // The same save without the failure: the new set, and nothing of the old one.
      ioTestHooks.beforeRename = undefined;
      await saveEmbedding(path, layerFilledWith(2), s.second);
      expect(Array.from((await readEmbedding(path)).weights)).toEqual(Array(24).fill(2));
      const files = (await readdir(dir)).sort();
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      const expectedParts = s.file === 'model.json' ? Math.ceil(96 / (s.second.shardBytes ?? 96)) : s.second.onnxExternalData ? 1 : 0;
      expect(files.length, `files: ${files.join(', ')}`).toBe(1 + expectedParts);
    });
  }
});

describe('writers refuse what they cannot represent, before writing anything', () => {
  const NONFINITE: { name: string; file: string; options: SaveEmbeddingOptions; value: number }[] = [
    { name: 'TF.js uint8 with +Infinity', file: 'model.json', options: { quantize: 'uint8' }, value: Number.POSITIVE_INFINITY },
    { name: 'TF.js uint16 with NaN', file: 'model.json', options: { quantize: 'uint16' }, value: Number.NaN },
    { name: 'Keras 3 int8 with -Infinity', file: 'm.keras', options: { kerasQuantize: 'int8' }, value: Number.NEGATIVE_INFINITY },
  ];
  for (const c of NONFINITE) {
    it(c.name, async () => {
      const dir = await folder();
      const layer = smallLayer(6, 4);
      layer.weights[9] = c.value;
      const error = await saveEmbedding(join(dir, c.file), layer, c.options).catch((e: unknown) => e);
      expect(InvalidWeightsError.isInstance(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/cannot store (Infinity|NaN|-Infinity) \(row 2, column 1\)/);
      expect(await readdir(dir)).toEqual([]);
    });
  }

  const NAMES = ['a/b', '.', '..', '/abs', 'x\0y', 'back\\slash', 'new\nline'];
  for (const file of ['m.h5', 'm.keras', 'model.json']) {
    it(`${file}: layer names that would become paths inside the file are refused`, async () => {
      const dir = await folder();
      for (const name of NAMES) {
        let config: ReturnType<typeof resolveConfig>;
        try {
          config = resolveConfig({ inputDim: 3, outputDim: 2, name });
        } catch {
          continue; // core already refuses this name
        }
        const error = await saveEmbedding(join(dir, file), { config, weights: new Float32Array(6) }).catch((e: unknown) => e);
        expect(InvalidConfigError.isInstance(error), `${JSON.stringify(name)}: ${String(error)}`).toBe(true);
        expect((error as Error).message).toMatch(/cannot write the layer name/);
      }
      expect(await readdir(dir)).toEqual([]);
      // An ordinary name still writes and reads back.
      await saveEmbedding(join(dir, file), {
        config: resolveConfig({ inputDim: 3, outputDim: 2, name: 'word_embedding-1.v2' }),
        weights: new Float32Array(6),
      });
      expect((await readEmbedding(join(dir, file))).name).toBe('word_embedding-1.v2');
    });
  }
});

describe('output paths: a typed error naming the path the user gave', () => {
  for (const file of ['m.h5', 'm.keras', 'model.json', 'm.onnx', 'm.npy', 'm.safetensors']) {
    it(`${file}: a missing folder, or a path that is a folder`, async () => {
      const dir = await folder();
      const missing = join(dir, 'no-such-folder', file);
      await expectRefused(`missing folder ${file}`, missing, /cannot write: the folder .*no-such-folder does not exist/, () =>
        saveEmbedding(missing, smallLayer(6, 4)),
      );
      const isFolder = join(dir, file);
      await mkdir(isFolder);
      await expectRefused(`folder ${file}`, isFolder, /cannot write: the path is a folder/, () =>
        saveEmbedding(isFolder, smallLayer(6, 4)),
      );
      expect(await readdir(dir)).toEqual([file]);
    });
  }
});
