import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxBackend, tableBytes, toOnnx, writeOnnxFile } from '../index.js';
import { codeOf, createPlainBackend, gatherRows, initialTable, loadStrictly, randomIndices } from '../testing/helpers.js';
import { checkModel, decodeModel, graphOf } from '../testing/onnx-checker.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapter-onnx-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CONFIG = { inputDim: 300, outputDim: 16, inputLength: 4, maskZero: true, seed: 11 };

async function runFile(source: string | Uint8Array, ids: Int32Array, dims: number[]) {
  const session = await (typeof source === 'string' ? ort.InferenceSession.create(source) : ort.InferenceSession.create(source));
  try {
    return await session.run({ indices: new ort.Tensor('int32', ids, dims) });
  } finally {
    await session.release();
  }
}

describe('toOnnx', () => {
  it('exports a layer of another backend from its config and weights; a fresh session gives its outputs', async () => {
    const layer = await Embedding.create(CONFIG, { backend: createPlainBackend() });
    const bytes = await toOnnx(layer);
    checkModel(decodeModel(bytes));
    const ids = randomIndices(8 * 4, 300, 3);
    const r = await runFile(bytes, ids, [8, 4]);
    expect(r.output!.data).toEqual((await layer.predict({ data: ids, shape: [8, 4] })).data);
    expect(r.output!.data).toEqual(gatherRows(initialTable(CONFIG), ids, 16));
    expect(r.mask!.data).toEqual(layer.computeMask({ data: ids, shape: [8, 4] })!.data);
    await layer.dispose();
    expect(await codeOf(() => toOnnx(layer))).toBe('LAYER_DISPOSED');
  });

  it('follows the ONNX backend index type unless told otherwise, and equals layer.export("onnx")', async () => {
    const layer = await Embedding.create(CONFIG, { backend: createOnnxBackend({ indexType: 'int64' }) });
    try {
      const bytes = await toOnnx(layer);
      expect(Buffer.from(bytes).equals(Buffer.from(await layer.export('onnx')))).toBe(true);
      expect(graphOf(decodeModel(bytes)).input[0]!.type!.tensorType!.elemType).toBe(7 /* INT64 */);
      expect(graphOf(decodeModel(await toOnnx(layer, { indexType: 'int32' }))).input[0]!.type!.tensorType!.elemType).toBe(6 /* INT32 */);
    } finally {
      await layer.dispose();
    }
  });
});

describe('writeOnnxFile', () => {
  it('writes a .onnx file that a fresh session loads from disk, with identical outputs; no temporary file is left', async () => {
    const layer = await Embedding.create(CONFIG, { backend: createOnnxBackend() });
    try {
      const path = join(dir, 'embedded.onnx');
      const written = await writeOnnxFile(layer, path);
      expect(written).toEqual({ modelPath: path, externalDataPath: null });
      expect(Buffer.from(await readFile(path)).equals(Buffer.from(await toOnnx(layer)))).toBe(true);
      const ids = randomIndices(12, 300, 5);
      const r = await runFile(path, ids, [3, 4]);
      expect(r.output!.data).toEqual((await layer.predict({ data: ids, shape: [3, 4] })).data);
      // Overwrite with new weights: the file is replaced as a whole.
      await layer.setWeights([initialTable({ ...CONFIG, seed: 12 })]);
      await writeOnnxFile(layer, path);
      const again = await runFile(path, ids, [3, 4]);
      expect(again.output!.data).toEqual(gatherRows(initialTable({ ...CONFIG, seed: 12 }), ids, 16));
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await layer.dispose();
    }
  });

  it('stores the table as external data when over the threshold (forced here with threshold 0); ONNX Runtime loads both files', async () => {
    const layer = await Embedding.create(CONFIG, { backend: createPlainBackend() });
    const path = join(dir, 'external.onnx');
    const written = await writeOnnxFile(layer, path, { externalDataThreshold: 0 });
    expect(written).toEqual({ modelPath: path, externalDataPath: `${path}.data` });
    const weights = (await layer.getWeights())[0]!;
    expect(Buffer.from(await readFile(`${path}.data`)).equals(Buffer.from(tableBytes(weights)))).toBe(true);
    const model = decodeModel(await readFile(path));
    checkModel(model, { externalFiles: new Set(['external.onnx.data']) });
    await loadStrictly(path);
    expect((await readFile(path)).byteLength).toBeLessThan(weights.byteLength);
    const ids = randomIndices(20, 300, 9);
    const r = await runFile(path, ids, [5, 4]);
    expect(r.output!.data).toEqual(gatherRows(weights, ids, 16));
  });

  it('a failed write leaves nothing behind and an existing file untouched', async () => {
    const layer = await Embedding.create(CONFIG, { backend: createPlainBackend() });
    expect(await codeOf(() => writeOnnxFile(layer, join(dir, 'missing-dir', 'x.onnx')))).toMatch(/ENOENT/);
    const path = join(dir, 'kept.onnx');
    await writeFile(path, 'old');
    expect(await codeOf(() => writeOnnxFile(layer, path, { externalDataThreshold: -1 }))).toBe('INVALID_CONFIG');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp') || f.startsWith('missing'))).toEqual([]);
  });
});
