import { describe, expect, it } from 'vitest';
import { defineBackend } from '../backend/define-backend.js';
import { Embedding } from '../embedding.js';
import type { EmbeddingBackendV2, EmbeddingTableV2 } from '../spec/v2/embedding-backend-v2.js';
import { createMemoryBackend } from '../testing/memory-backend.js';
import { OUTPUT_POOL_BYTES } from './output-pool.js';
import { readAllRows } from './rows.js';

/** A backend that writes into `out` when given (lookupInto), recording which buffer each lookup wrote. */
function recordingBackend(lookupInto: boolean): { backend: EmbeddingBackendV2; written: Float32Array[]; given: boolean[] } {
  const written: Float32Array[] = [];
  const given: boolean[] = [];
  const backend = defineBackend({
    name: 'recording',
    supports: { lookupInto },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2> {
      const d = config.outputDim;
      const w = await readAllRows(initial);
      return {
        doLookup(indices, out) {
          given.push(out !== undefined);
          const data = out ?? new Float32Array(indices.data.length * d);
          for (let i = 0; i < indices.data.length; i++) data.set(w.subarray(indices.data[i]! * d, (indices.data[i]! + 1) * d), i * d);
          written.push(data);
          return { data, shape: [...indices.shape, d] };
        },
        doReadRows: (start, count) => w.slice(start * d, (start + count) * d),
        doWriteRows: (start, rows) => {
          w.set(rows, start * d);
        },
        doDispose: () => undefined,
      };
    },
  });
  return { backend, written, given };
}

/** Row r of the 8 x 4 table below is [10r, 10r + 1, 10r + 2, 10r + 3]. */
const TABLE = Float32Array.from({ length: 32 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));
const rowsOf = (ids: number[]) => ids.flatMap((r) => [10 * r, 10 * r + 1, 10 * r + 2, 10 * r + 3]);

describe('EmbeddingOutput.dispose: a fresh output given back serves the next fresh output of its size', () => {
  it('detaches the output (its data becomes empty, without a copy) and the next lookup of that size writes into its memory, with the right rows', async () => {
    const { backend, written, given } = recordingBackend(true);
    const layer = await Embedding.create({ inputDim: 8, outputDim: 4 }, { backend, weights: [TABLE] });
    const first = await layer.predict([1, 2, 3]);
    expect(Array.from(first.data)).toEqual(rowsOf([1, 2, 3]));
    expect(given).toEqual([false]); // nothing given back yet: the backend allocates
    const kept = first.data;
    first.dispose!();
    expect(kept.length).toBe(0); // the user's view is detached: a use after dispose reads nothing
    expect(first.data.length).toBe(0);
    first.dispose!(); // a second dispose does nothing
    // Stale rows (1, 2, 3) are in the reused memory; every value is overwritten.
    const second = await layer.predict([7, 0, 5]);
    expect(given).toEqual([false, true]);
    expect(second.data).toBe(written[1]);
    expect(Array.from(second.data)).toEqual(rowsOf([7, 0, 5]));
    // Without a dispose, nothing is reused.
    await layer.predict([4, 4, 4]);
    expect(given).toEqual([false, true, false]);
    await layer.dispose();
  });

  it('reuses only a buffer of the same size, keeps at most four, and none after the layer is disposed', async () => {
    const { backend, given } = recordingBackend(true);
    const layer = await Embedding.create({ inputDim: 8, outputDim: 4 }, { backend, weights: [TABLE] });
    (await layer.predict([1, 2])).dispose!();
    await layer.predict([1, 2, 3]);
    expect(given).toEqual([false, false]);
    await layer.predict([3, 4]); // takes the 8-float buffer back out of the pool
    expect(given).toEqual([false, false, true]);
    given.length = 0;
    const outputs = await Promise.all([1, 2, 3, 4, 5].map((r) => layer.predict([r])));
    for (const y of outputs) y.dispose!();
    for (let k = 0; k < 5; k++) expect(Array.from((await layer.predict([k])).data)).toEqual(rowsOf([k]));
    expect(given).toEqual([false, false, false, false, false, true, true, true, true, false]);
    const last = await layer.predict([6]);
    await layer.dispose();
    last.dispose!();
    expect(last.data.length).toBe(0);
  });

  it('an output written into the caller’s out has no dispose (the memory is the caller’s); a backend without lookupInto is never handed a buffer', async () => {
    const into = recordingBackend(true);
    const layer = await Embedding.create({ inputDim: 8, outputDim: 4 }, { backend: into.backend, weights: [TABLE] });
    const out = new Float32Array(8);
    const y = await layer.predict([2, 6], { out });
    expect(y.data).toBe(out);
    expect(y.dispose).toBeUndefined();
    await layer.dispose();

    const plain = recordingBackend(false);
    const other = await Embedding.create({ inputDim: 8, outputDim: 4 }, { backend: plain.backend, weights: [TABLE] });
    const a = await other.predict([3]);
    a.dispose!();
    expect(a.data.length).toBe(0);
    expect(Array.from((await other.predict([5])).data)).toEqual(rowsOf([5]));
    expect(plain.given).toEqual([false, false]);
    await other.dispose();
  });

  it('the last output over the pool’s byte limit is kept for the next fresh lookup only: reused at its size, else dropped', async () => {
    const { backend, given, written } = recordingBackend(true);
    const width = 1024;
    const count = OUTPUT_POOL_BYTES / (width * 4) + 1;
    const layer = await Embedding.create({ inputDim: 2, outputDim: width }, { backend });
    const ids = new Int32Array(count);
    const big = await layer.predict(ids);
    big.dispose!();
    expect(big.data.length).toBe(0);
    const again = await layer.predict(ids);
    expect(given).toEqual([false, true]); // the given-back memory, not a new output
    expect(again.data).toBe(written[1]);
    again.dispose!();
    await layer.predict(ids.subarray(1)); // another size: the large buffer is dropped, not kept
    await layer.predict(ids);
    expect(given).toEqual([false, true, false, false]);
    await layer.dispose();
  });

  it('detaches with ArrayBuffer.prototype.transfer where the runtime has it (Node 22, browsers)', async () => {
    const proto = ArrayBuffer.prototype as { transfer?: () => ArrayBuffer };
    const had = Object.getOwnPropertyDescriptor(proto, 'transfer');
    let calls = 0;
    // Node 20 has no transfer: stand one in that moves the memory as the real one does.
    Object.defineProperty(proto, 'transfer', {
      configurable: true,
      value(this: ArrayBuffer) {
        calls++;
        return structuredClone(this, { transfer: [this] });
      },
    });
    try {
      const { backend, given } = recordingBackend(true);
      const layer = await Embedding.create({ inputDim: 8, outputDim: 4 }, { backend, weights: [TABLE] });
      const y = await layer.predict([1, 2]);
      const kept = y.data;
      y.dispose!();
      expect(calls).toBe(1);
      expect(kept.length).toBe(0);
      expect(Array.from((await layer.predict([3, 5])).data)).toEqual(rowsOf([3, 5]));
      expect(given).toEqual([false, true]);
      await layer.dispose();
    } finally {
      if (had) Object.defineProperty(proto, 'transfer', had);
      else delete proto.transfer;
    }
  });

  it('the in-memory backend (no lookupInto) still returns correct rows around disposes', async () => {
    const layer = await Embedding.create({ inputDim: 8, outputDim: 4 }, { backend: createMemoryBackend(), weights: [TABLE] });
    for (let k = 0; k < 6; k++) {
      const y = await layer.predict([k, 7 - k]);
      expect(Array.from(y.data)).toEqual(rowsOf([k, 7 - k]));
      y.dispose!();
    }
    await layer.dispose();
  });
});
