import { randomWords } from '@embedding-layer/conformance';
import { Embedding, resolveConfig } from '@embedding-layer/core';
import { rowSource } from '@embedding-layer/core/backend';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { copyRows, fastGatherActive } from './fast-gather.js';
import { createTfjsBackend, EMBEDDING_GATHER_KERNEL, lookupTensor, registerEmbeddingLayer } from './index.js';
import type { TfjsTable } from './tfjs-table.js';

/** A table of random bit patterns, with signaling and quiet NaNs with payloads, infinities and -0 planted in. */
function wildTable(rows: number, width: number, seed: number): Float32Array {
  const raw = randomWords(seed, rows * width);
  const planted = [0x7f800001, 0x7fa00000, 0xffbfffff, 0x7fc00001, 0xffc12345, 0x7f800000, 0xff800000, 0x80000000];
  for (let i = 0; i < raw.length; i += 7) raw[i] = planted[(i / 7) % planted.length]!;
  return new Float32Array(raw.buffer);
}

function ids(count: number, rows: number, seed: number): Int32Array {
  return Int32Array.from(randomWords(seed, count), (v) => v % rows);
}

/** The rows, copied as 32-bit integers: the bit-exact reference. */
function reference(table: Float32Array, width: number, indices: Int32Array): Uint32Array {
  const t = new Uint32Array(table.buffer, table.byteOffset, table.length);
  const out = new Uint32Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) for (let j = 0; j < width; j++) out[i * width + j] = t[indices[i]! * width + j]!;
  return out;
}

const asBits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

const profileKernels = async (f: () => tf.TensorContainer | Promise<tf.TensorContainer>) => (await tf.profile(f)).kernelNames;

describe('copyRows', () => {
  it('copies every bit (NaN payloads, -0, infinities) for narrow and wide rows, any count, tables at an offset', () => {
    // Offsets of 4 bytes (Int32Array path for narrow rows) and 8 bytes (Float64Array path for even widths).
    for (const offset of [1, 2]) {
      for (const width of [1, 2, 3, 4, 5, 8, 13, 64, 128, 190, 191, 192, 300]) {
        for (const count of [0, 1, 7, 8, 9, 23]) {
          const rows = 17;
          // A table that starts `offset` floats into its buffer, and an output that does too.
          const backing = wildTable(rows + offset, width, width * 31 + count + offset);
          const table = backing.subarray(offset, offset + rows * width);
          const indices = ids(count, rows, width + count + 1);
          const out = new Float32Array(count * width + 2 * offset).subarray(offset, offset + count * width);
          copyRows(table, width, indices, out);
          expect(asBits(out)).toEqual(reference(table, width, indices));
        }
      }
    }
  });

  it('moves every 64-bit pattern through the Float64Array path unchanged, NaN payloads in either half included', () => {
    // Pairs whose high float makes the 64-bit word a signaling or quiet NaN with a payload, an infinity, -0.
    const highs = [0x7ff00000, 0x7ff00001, 0x7ff7ffff, 0x7ff80000, 0x7ff80001, 0xfff00001, 0xfff7ffff, 0xffffffff, 0x80000000];
    const raw = randomWords(77, 4096 * 4);
    for (let i = 1; i < raw.length; i += 2) if (i % 6 === 1) raw[i] = highs[(i >> 1) % highs.length]!;
    const table = new Float32Array(raw.buffer);
    const indices = ids(999, 4096, 78);
    const out = new Float32Array(999 * 4);
    // Enough calls for V8's optimizing compiler to take the loop over, then the check.
    for (let k = 0; k < 3000; k++) copyRows(table, 4, indices, out.fill(0));
    expect(asBits(out)).toEqual(reference(table, 4, indices));
  });
});

describe('the fast path on TF.js cpu', () => {
  it('is on by default: lookupInto is declared on cpu and wasm, not with fastPath: false', async () => {
    expect((await createTfjsBackend({ backend: 'wasm' })).supports.lookupInto).toBe(true);
    expect((await createTfjsBackend({ backend: 'wasm', fastPath: false })).supports.lookupInto).toBe(false);
    expect((await createTfjsBackend({ backend: 'cpu', fastPath: false })).supports.lookupInto).toBe(false);
    expect((await createTfjsBackend({ backend: 'cpu' })).supports.lookupInto).toBe(true);
    expect(tf.getKernel(EMBEDDING_GATHER_KERNEL, 'cpu')).toBeDefined();
    expect(tf.getKernel(EMBEDDING_GATHER_KERNEL, 'wasm')).toBeDefined();
    expect(tf.getKernel(EMBEDDING_GATHER_KERNEL, 'webgl')).toBeUndefined();
    expect(fastGatherActive(tf)).toBe(true);
  });

  it('predict and predict(x, { out }) return the exact bits of the table rows (NaN payloads included), running no TF.js kernel', async () => {
    const table = wildTable(50, 6, 1);
    const x = ids(37, 50, 2);
    const want = reference(table, 6, x);
    const input = { data: x, shape: [37] };
    for (const fastPath of [true, false]) {
      const backend = await createTfjsBackend({ backend: 'cpu', fastPath });
      const layer = await Embedding.create({ inputDim: 50, outputDim: 6 }, { backend, weights: [table] });
      const kernels = await profileKernels(async () => {
        await layer.predict(input);
        return [];
      });
      // The negative control: the standard path runs TF.js's gather.
      expect(kernels.includes('GatherV2')).toBe(!fastPath);
      if (fastPath) {
        expect(kernels).toEqual([]);
        expect(asBits((await layer.predict(input)).data)).toEqual(want);
        const out = new Float32Array(37 * 6);
        const written = await layer.predict(input, { out });
        expect(written.data).toBe(out);
        expect(asBits(out)).toEqual(want);
      }
      await layer.dispose();
    }
  });

  it("lookupTensor runs this package's kernel (not GatherV2), and the standard path runs GatherV2, with the same bits", async () => {
    const table = wildTable(30, 5, 3);
    const x = ids(12, 30, 4);
    const results: Uint32Array[] = [];
    for (const fastPath of [true, false]) {
      const backend = await createTfjsBackend({ backend: 'cpu', fastPath });
      const layer = await Embedding.create({ inputDim: 30, outputDim: 5 }, { backend, weights: [table] });
      for (const dtype of ['int32', 'float32'] as const) {
        const input = tf.tensor2d(x, [3, 4], dtype);
        const kernels = await profileKernels(() => lookupTensor(layer, input));
        expect(kernels).toContain(fastPath ? EMBEDDING_GATHER_KERNEL : 'GatherV2');
        expect(kernels).not.toContain(fastPath ? 'GatherV2' : EMBEDDING_GATHER_KERNEL);
        const y = lookupTensor(layer, input);
        expect(y.shape).toEqual([3, 4, 5]);
        expect(y.dtype).toBe('float32');
        results.push(new Uint32Array(asBits(y.dataSync() as Float32Array)));
        tf.dispose([input, y]);
      }
      await layer.dispose();
    }
    const want = reference(table, 5, x);
    expect(results[0]).toEqual(want);
    expect(results[1]).toEqual(want);
    // TF.js's gather moves values through float64 numbers: a signaling NaN comes out quiet. Other values agree.
    const finite = (a: Uint32Array) => Array.from(a, (v) => ((v & 0x7f800000) === 0x7f800000 && (v & 0x7fffff) !== 0 ? -1 : v));
    expect(finite(results[2]!)).toEqual(finite(want));
  });

  it('the kernel checks its inputs and has a gradient: scatterND of dy for the table, zeros for the indices', () => {
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const idx = tf.tensor1d([2, 0, 2], 'int32');
    const run = (x: tf.Tensor, i: tf.Tensor) => tf.engine().runKernel(EMBEDDING_GATHER_KERNEL, { x, indices: i }, {}) as tf.Tensor;
    expect(Array.from(run(table, idx).dataSync())).toEqual([5, 6, 1, 2, 5, 6]);
    expect(() => run(table, tf.tensor1d([3], 'int32'))).toThrow(/not in \[0, 2\]/);
    expect(() => run(table, tf.tensor1d([-1], 'int32'))).toThrow(/not in \[0, 2\]/);
    expect(() => run(table, tf.tensor1d([1], 'float32'))).toThrow(/int32 indices/);
    const dy = tf.tensor2d([1, 10, 100, 1000, 0.5, 0.25], [3, 2]);
    const dTable = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(run(x, idx), dy)))(table);
    expect(Array.from(dTable.dataSync())).toEqual([100, 1000, 0, 0, 1.5, 10.25]);
    tf.dispose([table, idx, dy, dTable]);
  });

  it('applyGradients adds in place, with the bits of the standard path (tensorScatterUpdate)', async () => {
    const weights: Float32Array[] = [];
    for (const fastPath of [true, false]) {
      const backend = await createTfjsBackend({ backend: 'cpu', fastPath });
      const layer = await Embedding.create({ inputDim: 40, outputDim: 3, seed: 5 }, { backend });
      const before = tf.memory().numBytes;
      for (let step = 0; step < 20; step++) {
        const x = ids(10, 40, step + 1);
        await layer.applyGradients(
          { data: x, shape: [10] },
          new Float32Array(randomWords(step + 7, 30).map((v) => (v % 2001) - 1000)).map((v) => v / 997),
          {
            learningRate: 0.01,
          },
        );
      }
      expect(tf.memory().numBytes).toBe(before);
      weights.push((await layer.getWeights())[0]!);
      await layer.dispose();
    }
    expect(asBits(weights[0]!)).toEqual(asBits(weights[1]!));
  });

  it('never writes into storage another tensor shares (copy on write): a clone of the variable keeps its values', async () => {
    // The variable is the table's own (no API hands it out); the table is made here directly to reach it.
    const backend = await createTfjsBackend({ backend: 'cpu' });
    const config = resolveConfig({ inputDim: 4, outputDim: 2, seed: 6 });
    const table = (await backend.doCreateTable(
      config,
      rowSource(4, 2, () => Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])),
    )) as TfjsTable;
    const clone = tf.clone(table.variable!); // shares the variable's data id (refCount 2)
    const kept = Array.from(clone.dataSync());
    table.doScatterAdd(new Int32Array([1]), new Float32Array([1, 1]));
    table.doWriteRows(3, new Float32Array([9, 9]));
    expect(Array.from(clone.dataSync())).toEqual(kept);
    expect(Array.from(await table.doReadRows(0, 4))).toEqual([1, 2, 4, 5, 5, 6, 9, 9]);
    clone.dispose();
    table.doDispose();
  });

  it("follows TF.js's active backend: a cpu layer used while wasm is active takes the wasm kernel, and back", async () => {
    const backend = await createTfjsBackend({ backend: 'cpu' });
    const table = wildTable(20, 4, 9).map((v) => (Number.isFinite(v) ? v : 0));
    const layer = await Embedding.create({ inputDim: 20, outputDim: 4 }, { backend, weights: [table] });
    const x = ids(9, 20, 10);
    const want = reference(table, 4, x);
    await tf.setBackend('wasm');
    expect(fastGatherActive(tf)).toBe(true);
    const out = new Float32Array(9 * 4);
    expect(asBits((await layer.predict({ data: x, shape: [9] }, { out })).data)).toEqual(want);
    const idx = tf.tensor1d(x, 'int32');
    expect(await profileKernels(() => lookupTensor(layer, idx))).toContain(EMBEDDING_GATHER_KERNEL);
    const onWasm = lookupTensor(layer, idx);
    expect(asBits(onWasm.dataSync() as Float32Array)).toEqual(want);
    onWasm.dispose();
    await layer.applyGradients({ data: new Int32Array([3]), shape: [1] }, new Float32Array([1, 2, 3, 4]), { learningRate: 0.5 });
    await tf.setBackend('cpu');
    expect(asBits((await layer.predict({ data: x, shape: [9] })).data)).toEqual(reference((await layer.getWeights())[0]!, 4, x));
    expect(await profileKernels(() => lookupTensor(layer, idx))).toContain(EMBEDDING_GATHER_KERNEL);
    idx.dispose();
    await layer.dispose();
  });
});

describe('the fast path on TF.js wasm (rows read from the wasm heap)', () => {
  it('predict and predict(x, { out }) return the exact bits of the table rows (NaN payloads included), running no TF.js kernel', async () => {
    for (const width of [6, 64, 200]) {
      const table = wildTable(50, width, width);
      const x = ids(37, 50, width + 1);
      const want = reference(table, width, x);
      const input = { data: x, shape: [37] };
      for (const fastPath of [true, false]) {
        const backend = await createTfjsBackend({ backend: 'wasm', fastPath });
        const layer = await Embedding.create({ inputDim: 50, outputDim: width }, { backend, weights: [table] });
        const kernels = await profileKernels(async () => {
          await layer.predict(input);
          return [];
        });
        // The negative control: the standard path runs TF.js's gather.
        expect(kernels.includes('GatherV2')).toBe(!fastPath);
        if (fastPath) {
          expect(kernels).toEqual([]);
          expect(asBits((await layer.predict(input)).data)).toEqual(want);
          const out = new Float32Array(37 * width);
          const written = await layer.predict(input, { out });
          expect(written.data).toBe(out);
          expect(asBits(out)).toEqual(want);
          expect(asBits(await layer.readRows(7, 20))).toEqual(asBits(table.subarray(7 * width, 27 * width)));
        }
        await layer.dispose();
      }
    }
  });

  it('a table is written into the heap chunk by chunk (creation) and setWeights stages it in the heap: every bit lands in its row', async () => {
    const backend = await createTfjsBackend({ backend: 'wasm' });
    const table = wildTable(7, 3, 21);
    const reads: number[][] = [];
    // Two rows per read: the chunks' offsets matter.
    const source = {
      rows: 7,
      outputDim: 3,
      chunkRows: 2,
      read: async (start: number, count: number) => {
        reads.push([start, count]);
        return table.slice(start * 3, (start + count) * 3);
      },
    };
    const t = (await backend.doCreateTable(resolveConfig({ inputDim: 7, outputDim: 3 }), source)) as TfjsTable;
    expect(reads).toEqual([
      [0, 2],
      [2, 2],
      [4, 2],
      [6, 1],
    ]);
    expect(asBits(await t.doReadRows(0, 7))).toEqual(asBits(table));
    const next = wildTable(7, 3, 22);
    const replace = t.doBeginReplace();
    await replace.write(0, next.subarray(0, 9));
    await replace.write(3, next.subarray(9));
    expect(asBits(await t.doReadRows(0, 7))).toEqual(asBits(table)); // not before commit
    await replace.commit();
    expect(asBits(await t.doReadRows(0, 7))).toEqual(asBits(next));
    const x = ids(11, 7, 23);
    expect(asBits((await t.doLookup({ data: x, shape: [11] })).data)).toEqual(reference(next, 3, x));
    const aborted = t.doBeginReplace();
    await aborted.write(0, table);
    await aborted.abort();
    expect(asBits(await t.doReadRows(0, 7))).toEqual(asBits(next));
    t.doDispose();
  });

  it('lookupTensor runs the wasm kernel (the standard path GatherV2) with the bits of the rows; the kernel checks its inputs and has the gradient', async () => {
    const table = wildTable(30, 6, 31).map((v) => (Number.isFinite(v) ? v : 0.5));
    const x = ids(12, 30, 32);
    const want = reference(table, 6, x);
    for (const fastPath of [true, false]) {
      const backend = await createTfjsBackend({ backend: 'wasm', fastPath });
      const layer = await Embedding.create({ inputDim: 30, outputDim: 6 }, { backend, weights: [table] });
      const input = tf.tensor2d(x, [3, 4], 'int32');
      const kernels = await profileKernels(() => lookupTensor(layer, input));
      expect(kernels).toContain(fastPath ? EMBEDDING_GATHER_KERNEL : 'GatherV2');
      expect(kernels).not.toContain(fastPath ? 'GatherV2' : EMBEDDING_GATHER_KERNEL);
      const y = lookupTensor(layer, input);
      expect(y.shape).toEqual([3, 4, 6]);
      expect(asBits(y.dataSync() as Float32Array)).toEqual(want);
      tf.dispose([input, y]);
      await layer.dispose();
    }
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const idx = tf.tensor1d([2, 0, 2], 'int32');
    const run = (a: tf.Tensor, i: tf.Tensor) => tf.engine().runKernel(EMBEDDING_GATHER_KERNEL, { x: a, indices: i }, {}) as tf.Tensor;
    expect(Array.from(run(t, idx).dataSync())).toEqual([5, 6, 1, 2, 5, 6]);
    const bad = tf.tensor1d([3], 'int32');
    const badType = tf.tensor1d([1], 'float32');
    const heapTensors = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
    const before = heapTensors();
    expect(() => run(t, bad)).toThrow(/not in \[0, 2\]/);
    expect(() => run(t, badType)).toThrow(/int32 indices/);
    // A refused call leaves no output behind in the heap.
    expect(heapTensors()).toBe(before);
    tf.dispose([bad, badType]);
    const dy = tf.tensor2d([1, 10, 100, 1000, 0.5, 0.25], [3, 2]);
    const dTable = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(run(a, idx), dy)))(t);
    expect(Array.from(dTable.dataSync())).toEqual([100, 1000, 0, 0, 1.5, 10.25]);
    tf.dispose([t, idx, dy, dTable]);
  });

  it('a switch of TF.js backend while rows are written into the heap is an INVALID_CONFIG error, and the half-written tensor is freed', async () => {
    const backend = await createTfjsBackend({ backend: 'wasm' });
    const wasmBackend = tf.engine().backend as unknown as { numDataIds(): number };
    const before = wasmBackend.numDataIds();
    const source = {
      rows: 4,
      outputDim: 2,
      chunkRows: 2,
      read: async (start: number, count: number) => {
        if (start > 0) await tf.setBackend('cpu');
        return new Float32Array(count * 2).fill(start);
      },
    };
    const error = await Promise.resolve(backend.doCreateTable(resolveConfig({ inputDim: 4, outputDim: 2 }), source)).then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe('INVALID_CONFIG');
    expect(String((error as Error).message)).toMatch(/from "wasm" to "cpu" while the table was being created/);
    await tf.setBackend('wasm');
    expect(wasmBackend.numDataIds()).toBe(before);
  });

  it('applyGradients and writeRows change the heap in place, with the bits of the standard path', async () => {
    const weights: Float32Array[] = [];
    for (const fastPath of [true, false]) {
      const backend = await createTfjsBackend({ backend: 'wasm', fastPath });
      const layer = await Embedding.create({ inputDim: 40, outputDim: 3, seed: 5 }, { backend });
      const before = tf.memory().numBytes;
      for (let step = 0; step < 20; step++) {
        const x = ids(10, 40, step + 1);
        const grad = new Float32Array(randomWords(step + 7, 30).map((v) => (v % 2001) - 1000)).map((v) => v / 997);
        await layer.applyGradients({ data: x, shape: [10] }, grad, { learningRate: 0.01 });
      }
      await layer.writeRows(38, new Float32Array([1, 2, 3, 4, 5, 6]));
      expect(tf.memory().numBytes).toBe(before);
      weights.push((await layer.getWeights())[0]!);
      await layer.dispose();
    }
    expect(Array.from(weights[0]!.subarray(38 * 3))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(asBits(weights[0]!)).toEqual(asBits(weights[1]!));
  });

  it('never writes into heap storage another tensor shares (copy on write): a clone of the variable keeps its values', async () => {
    const backend = await createTfjsBackend({ backend: 'wasm' });
    const config = resolveConfig({ inputDim: 4, outputDim: 2, seed: 6 });
    const table = (await backend.doCreateTable(
      config,
      rowSource(4, 2, () => Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])),
    )) as TfjsTable;
    // wasm's clone copies; its reshape shares the variable's heap bytes (refCount 2).
    const shared = tf.reshape(table.variable!, [8]);
    const refCount = (t: tf.Tensor) => (tf.engine().backend as unknown as { refCount(id: unknown): number }).refCount(t.dataId);
    expect(refCount(shared)).toBe(2);
    const kept = Array.from(shared.dataSync());
    table.doScatterAdd(new Int32Array([1]), new Float32Array([1, 1]));
    table.doWriteRows(3, new Float32Array([9, 9]));
    expect(Array.from(shared.dataSync())).toEqual(kept);
    expect(Array.from(await table.doReadRows(0, 4))).toEqual([1, 2, 4, 5, 5, 6, 9, 9]);
    shared.dispose();
    table.doDispose();
  });
});

describe('the tf.layers.Layer on TF.js cpu', () => {
  const Layer = registerEmbeddingLayer(tf);

  it('call runs the kernel by default and GatherV2 with fastPath = false: same outputs, same gradients', async () => {
    await createTfjsBackend({ backend: 'cpu' });
    const layer = new Layer({ inputDim: 25, outputDim: 7, seed: 11 });
    const x = tf.tensor2d(ids(12, 25, 12), [3, 4], 'int32');
    const r = tf.randomNormal([3, 4, 7], 0, 1, 'float32', 13);
    const run = () => {
      const y = layer.apply(x) as tf.Tensor;
      const variable = layer.trainableWeights[0]!.read() as tf.Variable;
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, [variable]);
      const result = { y: Array.from(y.dataSync()), grad: Array.from(grads[variable.name]!.dataSync()) };
      tf.dispose([y, grads[variable.name]!]);
      return result;
    };
    expect(await profileKernels(() => layer.apply(x) as tf.Tensor)).toContain(EMBEDDING_GATHER_KERNEL);
    const fast = run();
    Layer.fastPath = false;
    try {
      expect(await profileKernels(() => layer.apply(x) as tf.Tensor)).toContain('GatherV2');
      expect(run()).toEqual(fast);
    } finally {
      Layer.fastPath = true;
    }
    expect(fast.grad.some((v) => v !== 0)).toBe(true);
    tf.dispose([x, r]);
    layer.dispose();
  });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});
