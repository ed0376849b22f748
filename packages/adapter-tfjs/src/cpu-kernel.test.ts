import { randomWords } from '@embedding-layer/conformance';
import { Embedding, InvalidConfigError, resolveConfig } from '@embedding-layer/core';
import { raiseMallocThresholds, rowSource } from '@embedding-layer/core/backend';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuValues, kernelStorage, kernelTableOf } from './fast-gather.js';
import { createTfjsBackend } from './index.js';
import type { TfjsTable } from './tfjs-table.js';

/** Seeded 32-bit patterns (conformance's xorshift words), with NaNs with payloads, infinities and -0 planted among them. */
function bits(length: number, seed: number): Uint32Array {
  const out = randomWords(seed, length);
  // Signaling and quiet NaNs with payloads, infinities, -0.
  const planted = [0x7f800001, 0x7fa00000, 0xffbfffff, 0x7fc00001, 0xffc12345, 0x7f800000, 0xff800000, 0x80000000];
  for (let i = 0; i < length; i += 5) out[i] = planted[(i / 5) % planted.length]!;
  return out;
}

const floats = (length: number, seed: number) => new Float32Array(bits(length, seed).buffer);
const ids = (count: number, rows: number, seed: number) => Int32Array.from(bits(count, seed), (v) => v % rows);
const asBits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The rows, copied as 32-bit integers: the bit-exact reference. */
function reference(table: Float32Array, width: number, indices: Int32Array): Uint32Array {
  const t = asBits(table);
  const out = new Uint32Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) for (let j = 0; j < width; j++) out[i * width + j] = t[indices[i]! * width + j]!;
  return out;
}

async function cpuTable(rows: number, width: number, values: Float32Array): Promise<TfjsTable> {
  const backend = await createTfjsBackend({ backend: 'cpu' });
  return (await backend.doCreateTable(
    resolveConfig({ inputDim: rows, outputDim: width }),
    rowSource(rows, width, (start, count) => values.slice(start * width, (start + count) * width)),
  )) as TfjsTable;
}

/** The array TF.js's cpu backend holds as the table's values. */
const held = (table: TfjsTable) => cpuValues(tf, table.variable!)!;

describe("adapter-tfjs on TF.js cpu: the table in a WebAssembly memory, gathered by core's kernel", () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('TF.js holds a view over a WebAssembly memory as the values, and lookups copy the exact bits (every kernel path: 24, 48, 64, 260-byte rows)', async () => {
    for (const width of [6, 12, 16, 65]) {
      const rows = 300;
      const values = floats(rows * width, width);
      const backend = await createTfjsBackend({ backend: 'cpu' });
      const layer = await Embedding.create({ inputDim: rows, outputDim: width }, { backend, weights: [values] });
      expect(layer.describe().gather, `width ${width}`).toBe('wasm-kernel');
      // 700 rows: more than one 256 kB chunk of the kernel's scratch for the wider rows.
      for (const count of [0, 1, 7, 700]) {
        const x = ids(count, rows, count + width);
        const want = reference(values, width, x);
        expect(asBits((await layer.predict({ data: x, shape: [count] })).data), `width ${width}, ${count} rows`).toEqual(want);
        const out = new Float32Array(count * width);
        await layer.predict({ data: x, shape: [count] }, { out });
        expect(asBits(out), `width ${width}, ${count} rows into a buffer`).toEqual(want);
      }
      await layer.dispose();
    }
  });

  it('the values TF.js holds are the kernel memory itself (one table, no copy): a write through them is what lookups return', async () => {
    const values = floats(50 * 8, 3);
    const table = await cpuTable(50, 8, values);
    const storage = held(table);
    expect(kernelTableOf(storage, 8)).not.toBeNull();
    expect(storage.buffer.byteLength % 65536).toBe(0); // a wasm memory: whole 64 KiB pages
    storage[8 * 7 + 3] = 42.5;
    const got = (await table.doLookup({ data: new Int32Array([7]), shape: [1] })).data;
    expect(got[3]).toBe(42.5);
    expect(Array.from(tf.gather(table.variable!, [7]).dataSync())[3]).toBe(42.5);
    table.doDispose();
  });

  it('training (applyGradients in place), writeRows and setWeights keep the table in kernel memory, with the bits a JS reference computes', async () => {
    const rows = 40;
    const width = 4;
    const start = floats(rows * width, 9).map((v) => (Number.isFinite(v) ? v : 0.5));
    const backend = await createTfjsBackend({ backend: 'cpu' });
    const layer = await Embedding.create({ inputDim: rows, outputDim: width }, { backend, weights: [start] });
    const x = new Int32Array([3, 17, 3, 39]);
    const grad = new Float32Array(x.length * width).map((_, i) => (i % 7) - 3);
    await layer.applyGradients({ data: x, shape: [x.length] }, grad, { learningRate: 0.25 });
    // SGD: w -= lr * (sum of the gradients of each row), summed in float32 as core sums duplicates.
    const want = start.slice();
    const sums = new Map<number, Float32Array>();
    for (let i = 0; i < x.length; i++) {
      const sum = sums.get(x[i]!) ?? new Float32Array(width);
      for (let j = 0; j < width; j++) sum[j] = sum[j]! + grad[i * width + j]!;
      sums.set(x[i]!, sum);
    }
    for (const [row, sum] of sums)
      for (let j = 0; j < width; j++) want[row * width + j] = want[row * width + j]! + Math.fround(-0.25 * sum[j]!);
    expect(layer.describe().gather).toBe('wasm-kernel');
    const all = Int32Array.from({ length: rows }, (_, i) => i);
    expect(asBits((await layer.predict({ data: all, shape: [rows] })).data)).toEqual(asBits(want));

    await layer.writeRows(5, new Float32Array([1, 2, 3, 4]));
    want.set([1, 2, 3, 4], 5 * width);
    expect(layer.describe().gather).toBe('wasm-kernel');
    expect(asBits((await layer.predict({ data: all, shape: [rows] })).data)).toEqual(asBits(want));

    const next = floats(rows * width, 11);
    await layer.setWeights([next]);
    expect(layer.describe().gather).toBe('wasm-kernel');
    expect(asBits((await layer.predict({ data: all, shape: [rows] })).data)).toEqual(asBits(next));
    await layer.dispose();
  });

  it('a copy on write (another tensor shares the values) lands in kernel memory too, and the sharing tensor keeps its values', async () => {
    const values = floats(20 * 4, 13);
    const table = await cpuTable(20, 4, values);
    const clone = tf.clone(table.variable!); // shares the data id
    table.doScatterAdd(new Int32Array([2]), new Float32Array([1, 1, 1, 1]));
    expect(asBits(clone.dataSync() as Float32Array)).toEqual(asBits(values));
    expect(kernelTableOf(held(table), 4)).not.toBeNull();
    expect(table.doDescribe().gather).toBe('wasm-kernel');
    clone.dispose();
    table.doDispose();
  });

  it('falls back to the JavaScript row copy when TF.js holds another array (an assign from elsewhere), with the same bits', async () => {
    const values = floats(64 * 6, 17);
    const table = await cpuTable(64, 6, values);
    const other = floats(64 * 6, 19);
    const replacement = tf.tensor2d(other, [64, 6], 'float32');
    table.variable!.assign(replacement);
    replacement.dispose();
    expect(kernelTableOf(held(table), 6)).toBeNull();
    expect(table.doDescribe().gather).toBe('js');
    const x = ids(100, 64, 21);
    expect(asBits((await table.doLookup({ data: x, shape: [100] })).data)).toEqual(reference(other, 6, x));
    table.doDispose();
  });

  it('kernelTableOf recognises only the whole kernel table at its width (a subarray or another width takes the JS copy)', () => {
    const storage = kernelStorage(10, 4);
    expect(kernelTableOf(storage, 4)).not.toBeNull();
    expect(kernelTableOf(storage, 2)).toBeNull();
    expect(kernelTableOf(storage.subarray(4), 4)).toBeNull();
    expect(kernelTableOf(new Float32Array(40), 4)).toBeNull();
    expect(kernelStorage(0, 4)).toHaveLength(0);
  });

  it("creating a cpu table ran core's raiseMallocThresholds (once per process; a boolean option)", async () => {
    await expect(createTfjsBackend({ backend: 'cpu', raiseMallocThresholds: 'yes' as never })).rejects.toThrow(InvalidConfigError);
    const table = await cpuTable(2, 2, new Float32Array(4));
    // false: already run (by this table's creation, or an earlier one in this file).
    if (process.platform === 'linux') expect(raiseMallocThresholds()).toBe(false);
    table.doDispose();
  });
});
