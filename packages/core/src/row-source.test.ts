import { describe, expect, it } from 'vitest';
import { Embedding } from './embedding.js';
import { EmbeddingError } from './errors/embedding-error.js';
import type { RowSource } from './spec/v2/embedding-backend-v2.js';
import { chunkRowsFor } from './tensor/limits.js';
import { createMemoryBackend } from './testing/memory-backend.js';

/** Row r, column c holds (r mod 65521) * 8 + c (exact in float32): any misplaced or missing range shows in the table. */
function formulaSource(rows: number, outputDim: number, reads: [number, number][] = []): RowSource {
  return {
    rows,
    outputDim,
    chunkRows: 1,
    read(start, count) {
      reads.push([start, count]);
      const out = new Float32Array(count * outputDim);
      for (let r = 0; r < count; r++) for (let c = 0; c < outputDim; c++) out[r * outputDim + c] = ((start + r) % 65521) * 8 + c;
      return out;
    },
  };
}

describe('Embedding.create({ weights: RowSource })', () => {
  it('fills the table from the source, each row read once', async () => {
    const chunk = chunkRowsFor(4);
    const rows = chunk * 2 + 5;
    const reads: [number, number][] = [];
    const layer = await Embedding.create(
      { inputDim: rows, outputDim: 4 },
      { backend: createMemoryBackend(), weights: formulaSource(rows, 4, reads) },
    );
    // The ranges the backend asked for tile [0, rows) in order (this backend reads the table whole).
    let next = 0;
    for (const [start, count] of reads) {
      expect(start).toBe(next);
      next += count;
    }
    expect(next).toBe(rows);
    const table = (await layer.getWeights())[0]!;
    for (const r of [0, 1, chunk - 1, chunk, 2 * chunk + 4])
      expect(Array.from(table.subarray(r * 4, r * 4 + 4))).toEqual([0, 1, 2, 3].map((c) => (r % 65521) * 8 + c));
    await layer.dispose();
  });

  it('refuses a source of other dims before reading it', async () => {
    const reads: [number, number][] = [];
    const created = Embedding.create(
      { inputDim: 10, outputDim: 4 },
      { backend: createMemoryBackend(), weights: formulaSource(10, 5, reads) },
    );
    await expect(created).rejects.toThrow(/expected a row source of 10 x 4 .*received one of 10 x 5/);
    await expect(created).rejects.toSatisfy((e) => EmbeddingError.isInstance(e) && e.code === 'INVALID_WEIGHTS');
    expect(reads).toEqual([]);
  });

  it('refuses a read that returns the wrong number of values', async () => {
    const source: RowSource = { ...formulaSource(10, 4), read: (_start, count) => new Float32Array(count * 4 - 1) };
    await expect(Embedding.create({ inputDim: 10, outputDim: 4 }, { backend: createMemoryBackend(), weights: source })).rejects.toThrow(
      /reading rows \[0, 10\) expected a Float32Array of 40 values, received 39 values/,
    );
  });
});
