import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPlainBackend, gatherRows, initialTable } from '../testing/helpers.js';

// The second atomic write of an export (the model, after its external data) fails when `failModel` is set.
const control = vi.hoisted(() => ({ failModel: false }));
vi.mock('./write-file-atomic.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./write-file-atomic.js')>();
  return {
    writeFileAtomic: async (path: string, data: Uint8Array) => {
      if (control.failModel && path.endsWith('.onnx')) throw new Error('EIO: simulated failure writing the model');
      return real.writeFileAtomic(path, data);
    },
  };
});
const { writeOnnxFile } = await import('./write-onnx-file.js');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-export-set-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const CONFIG = { inputDim: 50, outputDim: 8, seed: 3 };

async function outputs(path: string, ids: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  try {
    const r = await session.run({ indices: new ort.Tensor('int32', Int32Array.from(ids), [1, ids.length]) });
    return r.output!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('writeOnnxFile with external data replaces the .onnx and its data as a pair', () => {
  it('a failed model write keeps the old pair; a good one leaves only the new pair', async () => {
    const layer = await Embedding.create(CONFIG, { backend: createPlainBackend() });
    const path = join(dir, 'm.onnx');
    const ids = [0, 7, 49, 3];
    await writeOnnxFile(layer, path, { externalDataThreshold: 0 });
    const before = await readdir(dir);
    const oldBytes = await Promise.all(before.map((f) => readFile(join(dir, f))));
    expect(Array.from(await outputs(path, ids))).toEqual(Array.from(gatherRows(initialTable(CONFIG), ids, 8)));

    const next = initialTable({ ...CONFIG, seed: 4 });
    await layer.setWeights([next]);
    control.failModel = true;
    await expect(writeOnnxFile(layer, path, { externalDataThreshold: 0 })).rejects.toThrow(/simulated failure/);
    control.failModel = false;
    expect((await readdir(dir)).sort()).toEqual([...before].sort());
    expect(await Promise.all(before.map((f) => readFile(join(dir, f))))).toEqual(oldBytes);
    expect(Array.from(await outputs(path, ids))).toEqual(Array.from(gatherRows(initialTable(CONFIG), ids, 8)));

    const written = await writeOnnxFile(layer, path, { externalDataThreshold: 0 });
    expect(written.externalDataPath).not.toBe(`${path}.data`);
    expect((await readdir(dir)).sort()).toEqual(['m.onnx', written.externalDataPath!.slice(dir.length + 1)].sort());
    expect(Array.from(await outputs(path, ids))).toEqual(Array.from(gatherRows(next, ids, 8)));

    // Back to an inline table: the external data file goes too.
    await writeOnnxFile(layer, path);
    expect(await readdir(dir)).toEqual(['m.onnx']);
    await layer.dispose();
  });
});
