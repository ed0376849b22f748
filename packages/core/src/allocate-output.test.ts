import { describe, expect, it } from 'vitest';
import { defineBackend } from './backend/define-backend.js';
import { Embedding } from './embedding.js';
import type { EmbeddingTableV2 } from './spec/v2/embedding-backend-v2.js';
import { readAllRows } from './tensor/rows.js';
import { createMemoryBackend } from './testing/memory-backend.js';

/** A backend that places outputs in its own arena (one ArrayBuffer) and records the hook calls. */
function arenaBackend(room: number) {
  const log: string[] = [];
  const arena = new Float32Array(room);
  let used = 0;
  const backend = defineBackend({
    name: 'arena',
    supports: { lookupInto: true },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2> {
      const d = config.outputDim;
      const w = await readAllRows(initial);
      return {
        doLookup(indices, into) {
          const out = into ?? new Float32Array(indices.data.length * d);
          log.push(`lookup ${into === undefined ? 'fresh' : into.buffer === arena.buffer ? 'arena' : 'plain'}`);
          indices.data.forEach((row, i) => {
            out.set(w.subarray(row * d, (row + 1) * d), i * d);
          });
          return { data: out, shape: [...indices.shape, d] };
        },
        doAllocateOutput(length) {
          log.push(`allocate ${length}`);
          if (used + length > room) return null;
          used += length;
          return arena.subarray(used - length, used);
        },
        doReleaseOutput(array) {
          log.push(`release ${array.length}`);
        },
        doReadRows: (start, count) => w.slice(start * d, (start + count) * d),
        doWriteRows: (start, rows) => w.set(rows, start * d),
        doDispose: () => undefined,
      };
    },
  });
  return { backend, log, arena };
}

const weights = [Float32Array.from({ length: 5 * 2 }, (_, i) => i)];

describe('allocateOutput / releaseOutput', () => {
  it('places outputs through the backend, sized for the shape, and lookups write into them', async () => {
    const { backend, log, arena } = arenaBackend(16);
    const layer = await Embedding.create({ inputDim: 5, outputDim: 2, inputLength: 3 }, { backend, weights });
    const out = layer.allocateOutput([2, 3]);
    expect(out.length).toBe(12);
    expect(out.buffer).toBe(arena.buffer);
    const result = await layer.predict({ data: Int32Array.of(4, 0, 1, 2, 3, 4), shape: [2, 3] }, { out });
    expect(result.data).toBe(out);
    expect(Array.from(out)).toEqual([8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // No room left: a plain array, which lookups fill the same way.
    const plain = layer.allocateOutput([1, 3]);
    expect(plain.buffer).not.toBe(arena.buffer);
    expect(plain.length).toBe(6);
    layer.releaseOutput(out);
    layer.releaseOutput(out); // a second release is not passed on
    layer.releaseOutput(plain); // neither is an array the backend did not place
    expect(log).toEqual(['allocate 12', 'lookup arena', 'allocate 6', 'release 12']);
    await layer.dispose();
  });

  it('refuses shapes input_length does not allow, unknown sizes, and non-arrays', async () => {
    const { backend, log } = arenaBackend(64);
    const layer = await Embedding.create({ inputDim: 5, outputDim: 2, inputLength: 3 }, { backend, weights });
    expect(() => layer.allocateOutput([2, 4])).toThrow(/"input_length" is 3, but received input has shape \[2, 4\]/);
    expect(() => layer.allocateOutput([null, 3] as never)).toThrow(/a shape of known sizes/);
    expect(() => layer.allocateOutput([])).toThrow(/non-empty array/);
    expect(() => layer.releaseOutput([1, 2] as never)).toThrow(/releaseOutput expected a Float32Array/);
    expect(log).toEqual([]);
    // An empty output asks the backend for nothing.
    expect(layer.allocateOutput([0, 3]).length).toBe(0);
    expect(log).toEqual([]);
    await layer.dispose();
    expect(() => layer.allocateOutput([1, 3])).toThrow(/was disposed/);
  });

  it('after dispose, releasing a placed array does not reach the backend', async () => {
    const { backend, log } = arenaBackend(64);
    const layer = await Embedding.create({ inputDim: 5, outputDim: 2 }, { backend, weights });
    const out = layer.allocateOutput([3]);
    await layer.dispose();
    layer.releaseOutput(out);
    expect(log).toEqual(['allocate 6']);
  });

  it('a backend without the hook gives plain arrays', async () => {
    const layer = await Embedding.create({ inputDim: 5, outputDim: 2 }, { backend: createMemoryBackend(), weights });
    const out = layer.allocateOutput([2, 2]);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(8);
    expect(out.byteLength).toBe(out.buffer.byteLength);
    await layer.dispose();
  });
});
