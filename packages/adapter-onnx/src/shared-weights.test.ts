import { Embedding, resolveConfig } from '@embedding-layer/core';
import { toIndexTensor } from '@embedding-layer/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import { createOnnxBackend, type OnnxBackendOptions } from './index.js';
import { codeOf, gatherRows, randomIndices, spyRuntime } from './testing/helpers.js';

// Sharing the caller's table (`Embedding.create(..., { weights: [table], shareWeights: true })`,
// PyTorch's from_pretrained semantics): the layer keeps the caller's Float32Array as its table.

const layers: Embedding[] = [];
afterEach(async () => {
  await Promise.all(layers.splice(0).map((l) => l.dispose()));
});

/** A table filled by a formula (not by the code under test): value (r, c) = r + c / 1000. */
function formulaTable(rows: number, dim: number): Float32Array {
  const t = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let c = 0; c < dim; c++) t[r * dim + c] = r + c / 1000;
  return t;
}

async function layerOver(
  table: Float32Array,
  rows: number,
  dim: number,
  share: boolean,
  options: OnnxBackendOptions = {},
  config: Record<string, unknown> = {},
): Promise<Embedding> {
  const layer = await Embedding.create(
    { inputDim: rows, outputDim: dim, ...config },
    { backend: createOnnxBackend(options), weights: [table], ...(share ? { shareWeights: true } : {}) },
  );
  layers.push(layer);
  return layer;
}

const ROWS = 3000;
const DIM = 32; // 384 KiB: under the default inlineTableMaxBytes (4 MiB), so the inline-session rule applies

describe('shared float32 table (shareWeights: true)', () => {
  it('creation reads no rows (the caller array is the table); lookups equal a reference gather; describe says sharesWeights', async () => {
    const table = formulaTable(ROWS, DIM);
    const config = resolveConfig({ inputDim: ROWS, outputDim: DIM });
    let reads = 0;
    const tableHook = await createOnnxBackend().doCreateTable(config, {
      rows: ROWS,
      outputDim: DIM,
      chunkRows: 1024,
      read: (start, count) => {
        reads++;
        return table.slice(start * DIM, (start + count) * DIM);
      },
      shared: table,
    });
    try {
      expect(reads).toBe(0);
      expect(tableHook.doDescribe?.().sharesWeights).toBe(true);
      const ids = randomIndices(500, ROWS, 7);
      const out = await tableHook.doLookup(toIndexTensor(ids, ROWS));
      expect(out.data).toEqual(gatherRows(formulaTable(ROWS, DIM), ids, DIM));
    } finally {
      await tableHook.doDispose();
    }

    const layer = await layerOver(table, ROWS, DIM, true);
    expect(layer.describe().sharesWeights).toBe(true);
    const ids = randomIndices(320, ROWS, 3);
    expect((await layer.predict({ data: ids, shape: [32, 10] })).data).toEqual(gatherRows(formulaTable(ROWS, DIM), ids, DIM));
  });

  for (const inlineTableMaxBytes of [0, undefined]) {
    it(`the caller's writes are seen by the next lookup, fresh and into a buffer (inlineTableMaxBytes ${inlineTableMaxBytes ?? 'default: the table would qualify for the inline session'})`, async () => {
      const table = formulaTable(ROWS, DIM);
      const { runtime, counts } = spyRuntime();
      const layer = await layerOver(table, ROWS, DIM, true, {
        runtime,
        ...(inlineTableMaxBytes === undefined ? {} : { inlineTableMaxBytes }),
      });
      // One session, fed the caller's array: no inline session holding a copy of the table.
      expect(counts.create).toBe(1);
      const ids = Int32Array.from([5, 2999, 5, 0]);
      expect((await layer.predict(ids)).data).toEqual(gatherRows(formulaTable(ROWS, DIM), ids, DIM));
      // The caller writes rows 5 and 2999 after creation and after a lookup.
      table.fill(-1.5, 5 * DIM, 6 * DIM);
      table[2999 * DIM + 31] = 42;
      const expected = gatherRows(table, ids, DIM);
      expect(expected[0]).toBe(-1.5);
      expect((await layer.predict(ids)).data).toEqual(expected);
      const out = new Float32Array(ids.length * DIM);
      expect((await layer.predict(ids, { out })).data).toBe(out);
      expect(out).toEqual(expected);
      // The table fed to the session is the caller's array itself.
      expect(counts.feeds.at(-1)!.embeddings!.data).toBe(table);
    });
  }

  it("the layer's writes (writeRows, setWeights) land in the caller's array; getWeights and readRows are copies", async () => {
    const table = formulaTable(ROWS, DIM);
    const layer = await layerOver(table, ROWS, DIM, true);
    await layer.predict([[1, 2]]); // a lookup first: the write must not go to a copy made for runs in flight
    await layer.writeRows(7, new Float32Array(2 * DIM).fill(0.25));
    expect(table.subarray(7 * DIM, 9 * DIM).every((v) => v === 0.25)).toBe(true);
    expect(table[6 * DIM]).toBe(6);
    expect(table[9 * DIM]).toBe(9);

    const copy = (await layer.getWeights())[0]!;
    expect(copy).not.toBe(table);
    expect(copy.buffer).not.toBe(table.buffer);
    expect(copy).toEqual(table);
    copy.fill(0);
    const rows = await layer.readRows(7, 1);
    rows.fill(0);
    expect(table[7 * DIM]).toBe(0.25);
    expect((await layer.predict([[7]])).data[0]).toBe(0.25);

    // setWeights writes the new table into the caller's array (PyTorch's weight.data.copy_), which stays the table.
    const next = formulaTable(ROWS, DIM).map((v) => -v);
    await layer.setWeights([next]);
    expect(table).toEqual(next);
    expect(layer.describe().sharesWeights).toBe(true);
    table[3 * DIM] = 99;
    expect((await layer.predict([[3]])).data[0]).toBe(99);
    // A rejected setWeights (wrong length) writes nothing.
    expect(await codeOf(() => layer.setWeights([new Float32Array(5)]))).toBe('INVALID_WEIGHTS');
    expect(table[3 * DIM]).toBe(99);
    expect(table[4 * DIM]).toBe(-4);
  });

  it('a lookup in flight does not make writeRows copy the table (the caller keeps seeing the layer, and the layer the caller)', async () => {
    const table = formulaTable(ROWS, DIM);
    const layer = await layerOver(table, ROWS, DIM, true, { inlineTableMaxBytes: 0 });
    const pending = layer.predict([[11, 12]]);
    await layer.writeRows(11, new Float32Array(DIM).fill(7));
    await pending;
    expect(table[11 * DIM]).toBe(7);
    table[12 * DIM] = -3;
    const out = (await layer.predict([[11, 12]])).data;
    expect(out[0]).toBe(7);
    expect(out[DIM]).toBe(-3);
  });

  it('a staged replacement (setWeights) writes nothing into the caller array until commit; abort leaves it untouched', async () => {
    const table = formulaTable(4, 3);
    const tableHook = await createOnnxBackend().doCreateTable(resolveConfig({ inputDim: 4, outputDim: 3 }), {
      rows: 4,
      outputDim: 3,
      chunkRows: 2,
      read: () => {
        throw new Error('a shared table is not read');
      },
      shared: table,
    });
    try {
      const before = table.slice();
      const aborted = await tableHook.doBeginReplace!();
      await aborted.write(0, new Float32Array(6).fill(5));
      expect(table).toEqual(before);
      await aborted.abort();
      expect(table).toEqual(before);

      const staged = await tableHook.doBeginReplace!();
      await staged.write(0, new Float32Array(6).fill(5));
      expect(table).toEqual(before);
      // A lookup between two staged writes sees the old table whole.
      expect((await tableHook.doLookup(toIndexTensor([0, 3], 4))).data).toEqual(gatherRows(before, [0, 3], 3));
      await staged.write(2, new Float32Array(6).fill(6));
      await staged.commit();
      expect(Array.from(table)).toEqual([5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6]);
      expect((await tableHook.doLookup(toIndexTensor([3, 0], 4))).data).toEqual(Float32Array.from([6, 6, 6, 5, 5, 5]));
    } finally {
      await tableHook.doDispose();
    }
  });

  it("max_norm renormalizes looked-up rows in the caller's array (as PyTorch's embedding_renorm_ on a from_pretrained tensor)", async () => {
    const rows = 6;
    const dim = 4;
    const table = new Float32Array(rows * dim);
    for (let i = 0; i < table.length; i++) table[i] = ((i % 7) - 3) * 0.5; // row norms 1.5 to 3.0
    const original = table.slice();
    const layer = await layerOver(table, rows, dim, true, {}, { maxNorm: 1 });
    expect(layer.describe().sharesWeights).toBe(true);
    const out = await layer.predict([[1, 4]]);
    for (const r of [1, 4]) {
      const row = Array.from(original.subarray(r * dim, (r + 1) * dim));
      const norm = Math.hypot(...row);
      expect(norm).toBeGreaterThan(1);
      const scale = 1 / (norm + 1e-7);
      for (let c = 0; c < dim; c++) expect(table[r * dim + c]).toBeCloseTo(row[c]! * scale, 6);
    }
    // Rows not looked up are the caller's values still; the output is the renormalized rows.
    for (const r of [0, 2, 3, 5]) expect(table.subarray(r * dim, (r + 1) * dim)).toEqual(original.subarray(r * dim, (r + 1) * dim));
    expect(out.data).toEqual(gatherRows(table, [1, 4], dim));
  });

  it("training rejects (adapter-onnx is inference only) and leaves the caller's array as it was", async () => {
    const table = formulaTable(10, 4);
    const layer = await layerOver(table, 10, 4, true);
    expect(await codeOf(() => layer.applyGradients([[1]], new Float32Array(4).fill(1)))).toBe('UNSUPPORTED_FEATURE');
    expect(table).toEqual(formulaTable(10, 4));
  });

  it("a caller's array whose buffer was transferred rejects lookups and writes with INVALID_WEIGHTS (not a wrong read)", async () => {
    const table = formulaTable(10, 4);
    const layer = await layerOver(table, 10, 4, true);
    structuredClone(table.buffer, { transfer: [table.buffer] });
    expect(table.length).toBe(0);
    expect(await codeOf(() => layer.predict([[1]]))).toBe('INVALID_WEIGHTS');
    expect(await codeOf(() => layer.writeRows(1, new Float32Array(4)))).toBe('INVALID_WEIGHTS');
  });
});

describe('no sharing', () => {
  for (const storage of ['float16', 'int8', 'int4'] as const) {
    it(`${storage} storage encodes from the caller's array (no float32 copy read) and never writes it`, async () => {
      const table = formulaTable(20, 8).map((v) => v / 100);
      const before = table.slice();
      const config = resolveConfig({ inputDim: 20, outputDim: 8 });
      const tableHook = await createOnnxBackend({ storage }).doCreateTable(config, {
        rows: 20,
        outputDim: 8,
        chunkRows: 8,
        read: () => {
          throw new Error('not read: the shared array is encoded directly');
        },
        shared: table,
      });
      try {
        expect(tableHook.doDescribe?.().sharesWeights).toBe(false);
        const ids = toIndexTensor([3, 19], 20);
        const first = (await tableHook.doLookup(ids)).data;
        expect(first).toHaveLength(16);
        await tableHook.doWriteRows(3, new Float32Array(8).fill(0.5));
        expect(table).toEqual(before);
        // The caller's later writes do not reach the layer's own encoding.
        table.fill(9, 19 * 8, 20 * 8);
        expect((await tableHook.doLookup(ids)).data.subarray(8)).toEqual(first.subarray(8));
      } finally {
        await tableHook.doDispose();
      }

      const layer = await layerOver(table, 20, 8, true, { storage });
      expect(layer.describe().sharesWeights).toBe(false);
      await layer.writeRows(0, new Float32Array(8));
      expect(table[0]).toBe(before[0]);
    });
  }

  it("without shareWeights the layer copies: the caller's array is untouched by the layer's writes, and its writes are not seen", async () => {
    for (const inlineTableMaxBytes of [0, undefined]) {
      const table = formulaTable(ROWS, DIM);
      const layer = await layerOver(table, ROWS, DIM, false, inlineTableMaxBytes === undefined ? {} : { inlineTableMaxBytes });
      expect(layer.describe().sharesWeights).toBe(false);
      await layer.writeRows(2, new Float32Array(DIM).fill(0.5));
      await layer.setWeights([new Float32Array(ROWS * DIM).fill(2)]);
      expect(table).toEqual(formulaTable(ROWS, DIM));
      table.fill(-7);
      expect((await layer.predict([[0, 5]])).data.every((v) => v === 2)).toBe(true);
    }
  });
});
