import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOnnxBackend, PROTOBUF_LIMIT_BYTES, toOnnx, writeOnnxFile } from '../index.js';
import { codeOf } from '../testing/helpers.js';
import { checkModel, decodeModel } from '../testing/onnx-checker.js';

// A table just over protobuf's 2 GiB limit: 2^23 + 1 rows of 64 floats = 2^31 + 256 bytes.
// Measured: 23 s on 2 cores, 4.3 GB peak resident (the table, core's copy of it, ONNX
// Runtime's copy when it loads the file) and 2 GiB of temporary disk. Opt-in, so the repository's test run
// stays fast and small; the external-data code path itself runs in every test run with
// `externalDataThreshold: 0` (export.test.ts).
const LARGE = process.env.EMBEDDING_LAYER_LARGE_TESTS === '1';
const ROWS = 2 ** 23 + 1;
const COLS = 64;

function valueAt(i: number): number {
  return ((i % 1_000_003) - 500_000) / 1024;
}

describe('tables over 2 GiB', () => {
  it.skipIf(!LARGE)(
    'a 2 GiB + 256 B table runs on the backend and is written as external data that a fresh session loads (opt-in: EMBEDDING_LAYER_LARGE_TESTS=1; ~25 s, ~4.3 GB RAM)',
    async () => {
      expect(ROWS * COLS * 4).toBeGreaterThan(PROTOBUF_LIMIT_BYTES);
      let pattern: Float32Array | null = new Float32Array(ROWS * COLS);
      for (let i = 0; i < pattern.length; i++) pattern[i] = valueAt(i);
      const layer = await Embedding.create({ inputDim: ROWS, outputDim: COLS }, { backend: createOnnxBackend(), weights: [pattern] });
      pattern = null;
      const dir = await mkdtemp(join(tmpdir(), 'adapter-onnx-large-'));
      try {
        const probe = Int32Array.from([0, ROWS - 1, 12_345, 2 ** 22]);
        const expected = new Float32Array(probe.length * COLS);
        for (let k = 0; k < probe.length; k++) for (let c = 0; c < COLS; c++) expected[k * COLS + c] = valueAt(probe[k]! * COLS + c);

        // The backend feeds the table to its session: no protobuf, so no 2 GiB limit.
        expect((await layer.predict({ data: probe, shape: [1, 4] })).data).toEqual(expected);
        // One protobuf cannot hold it: the byte-array exports say so.
        expect(await codeOf(() => layer.export('onnx'))).toBe('UNSUPPORTED_FEATURE');
        expect(await codeOf(() => toOnnx(layer))).toBe('INVALID_CONFIG');

        const path = join(dir, 'large.onnx');
        const written = await writeOnnxFile(layer, path);
        expect(written.externalDataPath).toBe(`${path}.data`);
        expect((await stat(`${path}.data`)).size).toBe(ROWS * COLS * 4);
        const modelBytes = await readFile(path);
        expect(modelBytes.byteLength).toBeLessThan(4096);
        checkModel(decodeModel(modelBytes), { externalFiles: new Set(['large.onnx.data']) });

        const session = await ort.InferenceSession.create(path);
        try {
          const r = await session.run({ indices: new ort.Tensor('int32', probe, [1, 4]) });
          expect(r.output!.dims).toEqual([1, 4, COLS]);
          expect(r.output!.data).toEqual(expected);
        } finally {
          await session.release();
        }
      } finally {
        await layer.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
