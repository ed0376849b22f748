import { randomWords } from '@embedding-layer/conformance';
import { Embedding } from '@embedding-layer/core';
import { memoryLayout } from '@embedding-layer/core/backend';
import { describe, expect, it } from 'vitest';
import { createJsBackend, type JsBackendOptions } from './index.js';

/** The lookup computed independently: one 32-bit word at a time. */
function reference(table: Uint32Array, d: number, ids: Int32Array): Uint32Array {
  const out = new Uint32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) for (let c = 0; c < d; c++) out[i * d + c] = table[ids[i]! * d + c]!;
  return out;
}

const wordsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The first index where the words differ, -1 when equal. */
function firstDiff(got: Uint32Array, want: Uint32Array): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return i;
  return -1;
}

/** Whether `array` is a view into a larger memory (a placed output), not a plain `new Float32Array(length)`. */
const isPlaced = (array: Float32Array) => array.byteOffset > 0 || array.buffer.byteLength !== array.byteLength;

async function layerOf(rows: number, d: number, options: JsBackendOptions = { kernel: 'wasm' }, seed = 1) {
  const table = randomWords(rows * 31 + d + seed, rows * d);
  const layer = await Embedding.create(
    { inputDim: rows, outputDim: d },
    { backend: createJsBackend(options), weights: [new Float32Array(table.slice().buffer)] },
  );
  return { layer, table };
}

const idsOf = (n: number, rows: number, seed: number) => Int32Array.from(randomWords(seed, n), (x) => x % rows);

describe('adapter-js: outputs placed in the table memory (layer.allocateOutput)', () => {
  it('S and M shapes, widths 1 to 128 and 1-row lookups: arena outputs hold exactly the reference rows', async () => {
    const cases: [number, number, number[]][] = [
      [1000, 64, [32, 10]],
      [50_000, 128, [256, 64]],
      [301, 1, [3000]],
      [301, 3, [7, 11]],
      [301, 5, [100]],
      [301, 17, [9, 9]],
      [301, 64, [1]],
      [301, 128, [1, 1]],
    ];
    for (const [rows, d, shape] of cases) {
      const { layer, table } = await layerOf(rows, d);
      const n = shape.reduce((a, b) => a * b, 1);
      const out = layer.allocateOutput(shape);
      expect(out.length).toBe(n * d);
      expect(isPlaced(out), `${rows}x${d}`).toBe(true);
      expect(layer.describe().outputArenaLiveBytes).toBe(Math.ceil((n * d * 4) / 64) * 64);
      // Two lookups into the same output: the second overwrites every value of the first.
      for (const seed of [3, 4]) {
        const ids = idsOf(n, rows, seed + rows);
        const result = await layer.predict({ data: ids, shape }, { out });
        expect(result.data).toBe(out);
        expect(result.shape).toEqual([...shape, d]);
        expect(firstDiff(wordsOf(out), reference(table, d, ids)), `${rows}x${d} seed ${seed}`).toBe(-1);
      }
      await layer.dispose();
    }
  });

  it('a lookup into a placed output writes its rows in one pass: the scratch area of the table memory is untouched', async () => {
    for (const d of [5, 64]) {
      const rows = 400;
      const { layer, table } = await layerOf(rows, d);
      const n = 300;
      const out = layer.allocateOutput([n]);
      // A placed output is a view of the table's WebAssembly memory: slot 0 (scratch, then indices) comes first.
      const memory = new Uint32Array(out.buffer);
      const slotWords = memoryLayout(rows, d, 1).slotBytes / 4;
      memory.fill(0x5a5a5a5a, 0, slotWords);
      const ids = idsOf(n, rows, 8);
      await layer.predict({ data: ids, shape: [n] }, { out });
      expect(firstDiff(wordsOf(out), reference(table, d, ids))).toBe(-1);
      // Only the indices went through the slot.
      expect(
        memory.subarray(n, slotWords).every((w) => w === 0x5a5a5a5a),
        `width ${d}`,
      ).toBe(true);
      // A plain output goes through the scratch area (and still gets the same rows).
      const plain = new Float32Array(n * d);
      await layer.predict({ data: ids, shape: [n] }, { out: plain });
      expect(firstDiff(wordsOf(plain), reference(table, d, ids))).toBe(-1);
      expect(memory.subarray(n, slotWords).every((w) => w === 0x5a5a5a5a)).toBe(false);
      await layer.dispose();
    }
  });

  it('allocate, release, reuse: live outputs are disjoint, outside the table, and a released one backs the next', async () => {
    const rows = 500;
    const d = 16;
    const { layer, table } = await layerOf(rows, d);
    const tableEnd = memoryLayout(rows, d, 1).totalBytes;
    const a = layer.allocateOutput([10, 10]);
    const b = layer.allocateOutput([33]);
    const c = layer.allocateOutput([10, 10]);
    const ranges = [a, b, c].map((x) => [x.byteOffset, x.byteOffset + x.byteLength] as const).sort((x, y) => x[0] - y[0]);
    for (const [start] of ranges) expect(start).toBeGreaterThanOrEqual(tableEnd);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
    expect(new Set([a.buffer, b.buffer, c.buffer]).size).toBe(1);
    const idsA = idsOf(100, rows, 1);
    const idsB = idsOf(33, rows, 2);
    await layer.predict({ data: idsA, shape: [10, 10] }, { out: a });
    await layer.predict({ data: idsB, shape: [33] }, { out: b });
    layer.releaseOutput(a);
    const again = layer.allocateOutput([10, 10]);
    expect(again.byteOffset).toBe(a.byteOffset);
    expect(again.buffer).toBe(b.buffer);
    const live = layer.describe().outputArenaLiveBytes;
    expect(live).toBe(2 * 6400 + Math.ceil((33 * 16 * 4) / 64) * 64);
    // A lookup into the reused output does not disturb its neighbour.
    await layer.predict({ data: idsA.reverse(), shape: [10, 10] }, { out: again });
    expect(firstDiff(wordsOf(again), reference(table, d, idsA))).toBe(-1);
    expect(firstDiff(wordsOf(b), reference(table, d, idsB))).toBe(-1);
    // A plain array and an array given back twice are ignored.
    layer.releaseOutput(new Float32Array(4));
    layer.releaseOutput(a);
    expect(layer.describe().outputArenaLiveBytes).toBe(live);
    await layer.dispose();
  });

  it('grows the memory when nothing is live: the table keeps its rows, and writes and reads reach the table afterwards', async () => {
    const rows = 1000;
    const d = 64;
    const { layer, table } = await layerOf(rows, d);
    const before = layer.describe().memoryBytes as number;
    const out = layer.allocateOutput([4096, 16]);
    expect(isPlaced(out)).toBe(true);
    expect(layer.describe().memoryBytes as number).toBeGreaterThanOrEqual(before + 4096 * 16 * d * 4);
    const ids = idsOf(4096 * 16, rows, 5);
    await layer.predict({ data: ids, shape: [4096, 16] }, { out });
    expect(firstDiff(wordsOf(out), reference(table, d, ids))).toBe(-1);
    // Writes after the growth land in the table the kernel reads (no stale view of the old memory).
    const row7 = Float32Array.from({ length: d }, (_, i) => i + 0.5);
    await layer.writeRows(7, row7);
    table.set(new Uint32Array(row7.buffer), 7 * d);
    expect(Array.from(await layer.readRows(7, 1))).toEqual(Array.from(row7));
    const idsWith7 = Int32Array.of(7, 0, 7, 999);
    const small = await layer.predict({ data: idsWith7, shape: [4] });
    expect(firstDiff(wordsOf(small.data), reference(table, d, idsWith7))).toBe(-1);
    await layer.predict({ data: ids, shape: [4096, 16] }, { out });
    expect(firstDiff(wordsOf(out), reference(table, d, ids))).toBe(-1);
    await layer.dispose();
  });

  it('does not grow while an output is live: a plain array instead, and the live output stays valid', async () => {
    const rows = 1000;
    const d = 64;
    const { layer, table } = await layerOf(rows, d);
    const first = layer.allocateOutput([320]);
    const ids = idsOf(320, rows, 9);
    await layer.predict({ data: ids, shape: [320] }, { out: first });
    const room = layer.describe().outputArenaBytes as number;
    const bytes = layer.describe().memoryBytes;
    const second = layer.allocateOutput([Math.ceil(room / (d * 4)) + 1]);
    expect(isPlaced(second)).toBe(false);
    expect(layer.describe().memoryBytes).toBe(bytes);
    expect(first.length).toBe(320 * d);
    expect(firstDiff(wordsOf(first), reference(table, d, ids))).toBe(-1);
    const ids2 = idsOf(second.length / d, rows, 10);
    await layer.predict({ data: ids2, shape: [ids2.length] }, { out: second });
    expect(firstDiff(wordsOf(second), reference(table, d, ids2))).toBe(-1);
    await layer.dispose();
  });

  it('gives plain arrays on a table with workers (shared memory) and on the JS and sharded paths', async () => {
    const cases: [JsBackendOptions, string][] = [
      [{ kernel: 'wasm', workers: 1, workerThreshold: 0 }, 'wasm+workers'],
      [{ kernel: 'js' }, 'js'],
      [{ shardBytes: 4096 }, 'sharded'],
    ];
    for (const [options, path] of cases) {
      const { layer, table } = await layerOf(200, 8, options);
      expect(layer.describe().path).toBe(path);
      const out = layer.allocateOutput([50]);
      expect(isPlaced(out), path).toBe(false);
      expect(layer.describe().outputArenaLiveBytes ?? 0).toBe(0);
      const ids = idsOf(50, 200, 12);
      await layer.predict({ data: ids, shape: [50] }, { out });
      expect(firstDiff(wordsOf(out), reference(table, 8, ids))).toBe(-1);
      layer.releaseOutput(out);
      await layer.dispose();
    }
  });

  it('dispose detaches the outputs still held, so none keeps the table memory alive', async () => {
    const { layer } = await layerOf(100, 8);
    const out = layer.allocateOutput([10]);
    expect(out.length).toBe(80);
    await layer.dispose();
    expect(out.length).toBe(0);
    expect(out.buffer.byteLength).toBe(0);
  });
});
