import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createOnnxBackend } from './index.js';
import type { OnnxRuntime } from './runtime/load-runtime.js';
import { gatherRows, randomIndices } from './testing/helpers.js';

// Lookups with outputs over 32 MiB run in pieces of 4 MiB of output (onnx-backend.ts,
// CHUNKED_OUTPUT_BYTES): every piece writes into a view of the one output.

const layers: Embedding[] = [];
afterEach(async () => {
  await Promise.all(layers.splice(0).map((l) => l.dispose()));
});

/** Bitwise equality of two float arrays (vitest's toEqual walks 10 million elements slowly). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** onnxruntime-node with `onRun(k)` called before the k-th session.run (1-based) of any session it created. */
function hookedRuntime(onRun: (k: number) => void): { runtime: OnnxRuntime; runs: () => number } {
  let count = 0;
  const create = async (...args: Parameters<typeof ort.InferenceSession.create>) => {
    const session = await (ort.InferenceSession.create as (...a: unknown[]) => Promise<ort.InferenceSession>)(...args);
    const run = session.run.bind(session);
    Object.assign(session, {
      run: (...a: unknown[]) => {
        onRun(++count);
        return (run as (...b: unknown[]) => Promise<ort.InferenceSession.ReturnType>)(...a);
      },
    });
    return session;
  };
  return { runtime: { Tensor: ort.Tensor, InferenceSession: { create } } as unknown as OnnxRuntime, runs: () => count };
}

const ROWS = 1000;
const DIM = 256; // 1 KiB rows: a piece is 4,096 rows; 40,000 indices are a 39 MiB output in 10 pieces

function formulaTable(): Float32Array {
  const t = new Float32Array(ROWS * DIM);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < DIM; c++) t[r * DIM + c] = r - c / 512;
  return t;
}

describe('lookups over 32 MiB run in pieces', () => {
  for (const indexType of ['int32', 'int64'] as const) {
    for (const inlineTableMaxBytes of [0, undefined]) {
      it(`fresh and into a buffer equal a reference gather, in 10 runs (${indexType}, inline session ${inlineTableMaxBytes === 0 ? 'off' : 'on'})`, async () => {
        const table = formulaTable();
        const { runtime, runs } = hookedRuntime(() => undefined);
        const layer = await Embedding.create(
          { inputDim: ROWS, outputDim: DIM },
          {
            backend: createOnnxBackend({ runtime, indexType, ...(inlineTableMaxBytes === undefined ? {} : { inlineTableMaxBytes }) }),
            weights: [table],
          },
        );
        layers.push(layer);
        const ids = randomIndices(40_000, ROWS, 11);
        const expected = gatherRows(table, ids, DIM);
        const before = runs();
        const fresh = await layer.predict({ data: ids, shape: [200, 200] });
        expect(runs() - before).toBe(10);
        expect(fresh.shape).toEqual([200, 200, DIM]);
        expect(sameBits(fresh.data, expected)).toBe(true);
        const out = new Float32Array(ids.length * DIM).fill(Number.NaN);
        expect((await layer.predict({ data: ids, shape: [200, 200] }, { out })).data).toBe(out);
        expect(sameBits(out, expected)).toBe(true);
        // Just under the limit: one run.
        const small = ids.subarray(0, 32_768);
        const at = runs();
        const one = (await layer.predict(small)).data;
        expect(sameBits(one, gatherRows(table, small, DIM))).toBe(true);
        expect(runs() - at).toBe(1);
      });
    }
  }

  for (const share of [true, false]) {
    it(`a write issued between two pieces lands after the lookup, which reads one table throughout (${share ? 'shared table: the write waits' : 'own table: copy on write'})`, async () => {
      const table = formulaTable();
      let layer: Embedding | null = null;
      let write: Promise<void> | null = null;
      const { runtime } = hookedRuntime((k) => {
        // Before the 3rd piece of the first lookup (runs 1-2 are its first pieces).
        if (k === 3 && layer) write = layer.writeRows(5, new Float32Array(DIM).fill(-1));
      });
      layer = await Embedding.create(
        { inputDim: ROWS, outputDim: DIM },
        { backend: createOnnxBackend({ runtime, inlineTableMaxBytes: 0 }), weights: [table], ...(share ? { shareWeights: true } : {}) },
      );
      layers.push(layer);
      const ids = new Int32Array(40_000).fill(5);
      const row5 = formulaTable().subarray(5 * DIM, 6 * DIM);
      const out = (await layer.predict(ids)).data;
      expect(write).not.toBeNull();
      await write;
      let mixed = 0;
      for (let i = 0; i < ids.length; i++) if (out[i * DIM] !== row5[0] || out[i * DIM + 255] !== row5[255]) mixed++;
      expect(mixed).toBe(0);
      expect((await layer.readRows(5, 1)).every((v) => v === -1)).toBe(true);
      expect(table[5 * DIM] === -1).toBe(share);
      expect((await layer.predict([[5]])).data[0]).toBe(-1);
    });
  }
});
