import { Embedding } from '@embedding-layer/core';
import { computeMask, toIndexTensor } from '@embedding-layer/core/backend';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEmbeddingModel, createOnnxBackend, predictTensor } from './index.js';
import { codeOf, createPlainBackend, gatherRows, initialTable, randomIndices, spyRuntime } from './testing/helpers.js';
import { checkModel, decodeModel } from './testing/onnx-checker.js';

const SEED = { inputDim: 1000, outputDim: 64, inputLength: 10, seed: 42 } as const;
const layers: Embedding[] = [];

async function onnxLayer(config: Parameters<typeof Embedding.create>[0], options: Parameters<typeof createOnnxBackend>[0] = {}) {
  const layer = await Embedding.create(config, { backend: createOnnxBackend(options) });
  layers.push(layer);
  return layer;
}

afterEach(async () => {
  await Promise.all(layers.splice(0).map((l) => l.dispose()));
});

describe('createOnnxBackend', () => {
  it('declares inference only (no training), float32, export to onnx', () => {
    const backend = createOnnxBackend();
    expect(backend.specificationVersion).toBe('v2');
    expect(backend.name).toBe('onnx');
    expect(backend.supports.training).toBe(false);
    expect(backend.supports.storage.dtype).toBe('float32');
    expect(Object.isFrozen(backend.supports)).toBe(true);
    expect(backend.supports.export).toEqual(['onnx']);
  });

  for (const indexType of ['int32', 'int64'] as const) {
    it(`the seed example (1000x64, 32x10 indices) equals core's rows bit for bit (${indexType})`, async () => {
      const layer = await onnxLayer(SEED, { indexType });
      const ids = randomIndices(320, 1000, 1);
      const out = await layer.predict({ data: ids, shape: [32, 10] });
      expect(out.shape).toEqual([32, 10, 64]);
      expect(out.data).toBeInstanceOf(Float32Array);
      const expected = gatherRows(initialTable(SEED), ids, 64);
      expect(Buffer.from(out.data.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    });
  }

  it('feeds int64 indices as a BigInt64Array and int32 as an Int32Array copy of the validated values', async () => {
    for (const indexType of ['int32', 'int64'] as const) {
      const { runtime, counts } = spyRuntime();
      const layer = await onnxLayer({ inputDim: 5, outputDim: 2, seed: 1 }, { runtime, indexType });
      const ids = Int32Array.from([4, 0, 3]);
      await layer.predict(ids);
      const fed = counts.feeds[0]!.indices!;
      expect(fed.type).toBe(indexType);
      expect(fed.data).toBeInstanceOf(indexType === 'int32' ? Int32Array : BigInt64Array);
      expect(Array.from(fed.data as ArrayLike<number | bigint>, Number)).toEqual([4, 0, 3]);
      expect(fed.data).not.toBe(ids);
      // Also accepts BigInt64Array input (core converts and checks it).
      const out = await layer.predict(BigInt64Array.from([1n, 2n]));
      expect(out.data).toEqual(gatherRows(initialTable({ inputDim: 5, outputDim: 2, seed: 1 }), [1, 2], 2));
    }
  });

  describe('negative and out-of-range indices', () => {
    it('raw ONNX Gather wraps -1 to the last row (the hazard core checks against)', async () => {
      const config = { inputDim: 4, outputDim: 2, seed: 3 };
      const layer = await onnxLayer(config);
      const session = await ort.InferenceSession.create(buildEmbeddingModel(layer.config, (await layer.getWeights())[0]!));
      try {
        const r = await session.run({ indices: new ort.Tensor('int32', Int32Array.from([-1]), [1, 1]) });
        expect(r.output!.data).toEqual(gatherRows(initialTable(config), [3], 2));
      } finally {
        await session.release();
      }
    });

    for (const indexType of ['int32', 'int64'] as const) {
      it(`-1 never returns the last row: InvalidIndexError before the session runs (${indexType} backend)`, async () => {
        const { runtime, counts } = spyRuntime();
        const layer = await onnxLayer({ inputDim: 4, outputDim: 2, seed: 3 }, { runtime, indexType });
        for (const bad of [[[-1]], Int32Array.from([-1]), BigInt64Array.from([-1n]), Float64Array.from([-1]), [[4]], [[0, 2, -3]]]) {
          expect(await codeOf(() => layer.predict(bad as never))).toBe('INVALID_INDEX');
        }
        // The ort.Tensor path validates with core's toIndexTensor too.
        for (const tensor of [
          new ort.Tensor('int32', Int32Array.from([-1]), [1]),
          new ort.Tensor('int64', BigInt64Array.from([0n, -1n]), [1, 2]),
          new ort.Tensor('int64', BigInt64Array.from([4n]), [1]),
          new ort.Tensor('float32', Float32Array.from([1.5]), [1]),
        ]) {
          expect(await codeOf(() => predictTensor(layer, tensor))).toBe('INVALID_INDEX');
        }
        expect(counts.run).toBe(0);
        const out = await layer.predict([[3]]);
        expect(out.data).toEqual(gatherRows(initialTable({ inputDim: 4, outputDim: 2, seed: 3 }), [3], 2));
      });
    }

    it('the session sees the values core validated even if the caller changes its array right after predict()', async () => {
      const layer = await onnxLayer({ inputDim: 4, outputDim: 2, seed: 5 });
      const ids = Int32Array.from([1, 2]);
      const pending = layer.predict(ids);
      // ONNX Runtime reads its feed later (setImmediate): core handed the backend its own copy,
      // which the adapter feeds as it is (no second copy).
      ids[0] = -1;
      const out = await pending;
      expect(out.data).toEqual(gatherRows(initialTable({ inputDim: 4, outputDim: 2, seed: 5 }), [1, 2], 2));
    });

    it.each(['int32', 'int64'] as const)(
      'predictTensor feeds the values core validated even if the caller changes its tensor right after the call (%s)',
      async (indexType) => {
        const layer = await onnxLayer({ inputDim: 4, outputDim: 2, seed: 5 }, { indexType });
        const ids = Int32Array.from([1, 2]);
        const pending = predictTensor(layer, new ort.Tensor('int32', ids, [2]));
        // Core validated the tensor's own array; the native path must feed a copy of it (Gather would wrap -1 to row 3).
        ids[0] = -1;
        const { output } = await pending;
        expect(output.data).toEqual(gatherRows(initialTable({ inputDim: 4, outputDim: 2, seed: 5 }), [1, 2], 2));
      },
    );
  });

  it('zero-size lookups (empty batch, output_dim 0) are answered without running the session', async () => {
    const { runtime, counts } = spyRuntime();
    const empty = await onnxLayer({ inputDim: 3, outputDim: 4 }, { runtime });
    const a = await empty.predict({ data: new Int32Array(0), shape: [0, 5] });
    // (Fresh outputs also carry core's dispose().)
    expect({ data: a.data, shape: a.shape }).toEqual({ data: new Float32Array(0), shape: [0, 5, 4] });
    const zero = await onnxLayer({ inputDim: 3, outputDim: 0 }, { runtime });
    const b = await zero.predict([[1, 2]]);
    expect({ data: b.data, shape: b.shape }).toEqual({ data: new Float32Array(0), shape: [1, 2, 0] });
    expect(counts.run).toBe(0);
  });

  it.each(['int32', 'int64'] as const)('many parallel predicts on one layer give the sequential results (%s)', async (indexType) => {
    const config = { inputDim: 1000, outputDim: 64, seed: 9 };
    const { runtime, counts } = spyRuntime();
    const layer = await onnxLayer(config, { runtime, indexType });
    const batches = Array.from({ length: 200 }, (_, k) => ({
      data: randomIndices(32 * (1 + (k % 5)), 1000, k + 1),
      shape: [32, 1 + (k % 5)],
    }));
    const sequential = [];
    for (const b of batches) sequential.push(await layer.predict(b));
    const parallel = await Promise.all(batches.map((b) => layer.predict(b)));
    const table = initialTable(config);
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (let k = 0; k < batches.length; k++) {
      expect(parallel[k]!.shape).toEqual(sequential[k]!.shape);
      expect(bytes(parallel[k]!.data).equals(bytes(sequential[k]!.data))).toBe(true);
      expect(bytes(parallel[k]!.data).equals(bytes(gatherRows(table, batches[k]!.data, 64)))).toBe(true);
    }
    // The session fed the table and the one holding it (a 256 kB float32 table: see inlineTableMaxBytes).
    expect(counts.create).toBe(2);
    expect(counts.run).toBe(400);
  });

  it.each([0, 2 ** 22])(
    'setWeights: the next lookup uses the new table with no new session; predicts in flight keep the old one (inlineTableMaxBytes %i)',
    async (inlineTableMaxBytes) => {
      const { runtime, counts } = spyRuntime();
      const layer = await onnxLayer({ inputDim: 3, outputDim: 2, seed: 2 }, { runtime, inlineTableMaxBytes });
      const sessions = inlineTableMaxBytes === 0 ? 1 : 2;
      expect(counts.create).toBe(sessions);
      const old = (await layer.getWeights())[0]!;
      const before = layer.predict([[0, 2]]);
      const next = Float32Array.from([1, 2, 3, 4, 5, 6]);
      await layer.setWeights([next]);
      next.fill(0); // core copied it
      expect((await before).data).toEqual(gatherRows(old, [0, 2], 2));
      expect((await layer.predict([[0, 2]])).data).toEqual(Float32Array.from([1, 2, 5, 6]));
      expect(counts.create).toBe(sessions);
      // The session holding the old table was released once the predict in flight on it settled.
      expect(counts.release).toBe(sessions - 1);
    },
  );

  it('a small float32 table is held by a second session: lookups feed only the indices until the first write, then the table', async () => {
    const config = { inputDim: 40, outputDim: 6, maskZero: true, seed: 3 };
    const { runtime, counts } = spyRuntime();
    const layer = await onnxLayer(config, { runtime });
    expect(counts.create).toBe(2);
    const table = initialTable(config);
    const ids = randomIndices(24, 40, 5);
    const input = { data: ids, shape: [4, 6] };
    const out = new Float32Array(24 * 6);
    expect((await layer.predict(input)).data).toEqual(gatherRows(table, ids, 6));
    expect((await layer.predict(input, { out })).data).toBe(out);
    expect(out).toEqual(gatherRows(table, ids, 6));
    const native = await predictTensor(layer, new ort.Tensor('int32', ids, [4, 6]));
    expect(native.output.data).toEqual(gatherRows(table, ids, 6));
    expect(native.mask!.data).toEqual(computeMask(toIndexTensor(input, 40), true)!.data);
    expect(counts.feeds.map((f) => Object.keys(f).sort())).toEqual([['indices'], ['indices'], ['indices']]);
    // A write: the held copy is stale, so its session goes and lookups are fed the table.
    const row = Float32Array.from([1, -2, 3, -4, 5, -6]);
    await layer.writeRows(ids[0]!, row);
    table.set(row, ids[0]! * 6);
    expect((await layer.predict(input)).data).toEqual(gatherRows(table, ids, 6));
    expect((await layer.predict(input, { out })).data).toEqual(gatherRows(table, ids, 6));
    expect((await predictTensor(layer, new ort.Tensor('int32', ids, [4, 6]))).output.data).toEqual(gatherRows(table, ids, 6));
    expect(Object.keys(counts.feeds.at(-1)!).sort()).toEqual(['embeddings', 'indices']);
    expect(counts.release).toBe(1);
    await layer.dispose();
    expect(counts.release).toBe(2);
  });

  it('tables over inlineTableMaxBytes, quantized storage and max_norm layers run one session fed the table', async () => {
    const options = [{ inlineTableMaxBytes: 40 * 6 * 4 - 1 }, { storage: 'float16' as const }, { maxNorm: 1 }] as const;
    for (const { maxNorm, ...option } of options.map((o) => ({ maxNorm: null, ...o }))) {
      const config = { inputDim: 40, outputDim: 6, seed: 3, maxNorm };
      const { runtime, counts } = spyRuntime();
      const layer = await onnxLayer(config, { runtime, ...option });
      await layer.predict([1, 2]);
      expect(counts.create).toBe(1);
      expect(Object.keys(counts.feeds[0]!)).toContain('embeddings');
    }
    const exact = await onnxLayer({ inputDim: 40, outputDim: 6, seed: 3 }, { inlineTableMaxBytes: 40 * 6 * 4 });
    expect((await exact.predict([1, 2])).data).toEqual(gatherRows(initialTable({ inputDim: 40, outputDim: 6, seed: 3 }), [1, 2], 6));
    expect(await codeOf(() => createOnnxBackend({ inlineTableMaxBytes: -1 }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => createOnnxBackend({ inlineTableMaxBytes: 1.5 }))).toBe('INVALID_CONFIG');
  });

  it('a failed setWeights changes nothing: the session keeps answering with the old table', async () => {
    const layer = await onnxLayer({ inputDim: 3, outputDim: 2, seed: 2 });
    const old = (await layer.getWeights())[0]!;
    expect(await codeOf(() => layer.setWeights([new Float32Array(5)]))).toBe('INVALID_WEIGHTS');
    expect(
      await codeOf(() =>
        layer.setWeights([
          [1, 2],
          [3, 'x' as unknown as number],
          [5, 6],
        ]),
      ),
    ).toBe('INVALID_WEIGHTS');
    expect((await layer.getWeights())[0]).toEqual(old);
    expect((await layer.predict([[2, 1]])).data).toEqual(gatherRows(old, [2, 1], 2));
  });

  it('training calls reject with UNSUPPORTED_FEATURE and change nothing', async () => {
    const layer = await onnxLayer({ inputDim: 3, outputDim: 2, seed: 2 });
    const old = (await layer.getWeights())[0]!;
    expect(await codeOf(() => layer.applyGradients([[1]], new Float32Array(2)))).toBe('UNSUPPORTED_FEATURE');
    expect((await layer.getWeights())[0]).toEqual(old);
  });

  it('dispose() waits for predicts in flight, then releases each session once', async () => {
    const { runtime, counts } = spyRuntime();
    const layer = await Embedding.create({ inputDim: 50, outputDim: 8, seed: 4 }, { backend: createOnnxBackend({ runtime }) });
    const pending = Array.from({ length: 20 }, (_, k) => layer.predict(randomIndices(16, 50, k + 1)));
    await layer.dispose();
    // The session fed the table and the one holding it (a small float32 table).
    expect(counts.release).toBe(2);
    const results = await Promise.all(pending);
    for (let k = 0; k < 20; k++)
      expect(results[k]!.data).toEqual(gatherRows(initialTable({ inputDim: 50, outputDim: 8, seed: 4 }), randomIndices(16, 50, k + 1), 8));
    expect(await codeOf(() => layer.predict([[1]]))).toBe('LAYER_DISPOSED');
    await layer.dispose();
    expect(counts.release).toBe(2);
  });

  it('creates its sessions once per layer (two for a small float32 table), never per lookup', async () => {
    const { runtime, counts } = spyRuntime();
    const backend = createOnnxBackend({ runtime });
    const a = await Embedding.create({ inputDim: 4, outputDim: 2 }, { backend });
    const b = await Embedding.create({ inputDim: 4, outputDim: 2 }, { backend });
    layers.push(a, b);
    for (let i = 0; i < 5; i++) await Promise.all([a.predict([1]), b.predict([2])]);
    expect(counts.create).toBe(4);
  });

  it('rejects bad options at once and a bad runtime with core error classes', async () => {
    expect(await codeOf(() => createOnnxBackend({ indexType: 'int8' as 'int32' }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => createOnnxBackend({ executionProviders: [] }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => createOnnxBackend({ intraOpNumThreads: -1 }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => createOnnxBackend(null as never))).toBe('INVALID_CONFIG');
    const missing = createOnnxBackend({ runtime: () => import('onnxruntime-does-not-exist' as string) as never });
    const error = await Embedding.create({ inputDim: 2, outputDim: 1 }, { backend: missing }).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'MISSING_PEER', peer: 'onnxruntime-node' });
    expect((error as Error).message).toContain('`runtime`');
    const wrong = createOnnxBackend({ runtime: {} as never });
    expect(await codeOf(() => Embedding.create({ inputDim: 2, outputDim: 1 }, { backend: wrong }))).toBe('INVALID_CONFIG');
    const noProvider = createOnnxBackend({ executionProviders: ['no-such-provider' as 'cpu'] });
    expect(await codeOf(() => Embedding.create({ inputDim: 2, outputDim: 1 }, { backend: noProvider }))).toBe('INVALID_CONFIG');
  });
});

describe('predictTensor (ort.Tensor in, ort.Tensor out)', () => {
  for (const indexType of ['int32', 'int64'] as const) {
    it(`returns output and the graph's bool mask as ort.Tensors (${indexType} input)`, async () => {
      const config = { inputDim: 6, outputDim: 3, maskZero: true, seed: 8 };
      const layer = await onnxLayer(config);
      const ids = [0, 5, 1, 0, 3, 2];
      const data = indexType === 'int32' ? Int32Array.from(ids) : BigInt64Array.from(ids.map(BigInt));
      const { output, mask } = await predictTensor(layer, new ort.Tensor(indexType, data, [2, 3]));
      expect(output).toBeInstanceOf(ort.Tensor);
      expect(output.type).toBe('float32');
      expect(output.dims).toEqual([2, 3, 3]);
      expect(output.data).toEqual(gatherRows(initialTable(config), ids, 3));
      expect(mask!.type).toBe('bool');
      expect(mask!.dims).toEqual([2, 3]);
      expect(mask!.data).toEqual(computeMask(toIndexTensor([ids], 6), true)!.data);
    });
  }

  it('checks input_length, the tensor type and disposal; works on a layer of any backend', async () => {
    const layer = await onnxLayer({ inputDim: 6, outputDim: 3, inputLength: 2, seed: 8 });
    expect(await codeOf(() => predictTensor(layer, new ort.Tensor('int32', Int32Array.from([1, 2, 3]), [1, 3])))).toBe('SHAPE_MISMATCH');
    // One rule for native tensors on every backend (core's checkNativeIndices): bool holds indices 0 and 1, as TF.js's bool does; strings and float16 bits do not.
    expect(Array.from((await predictTensor(layer, new ort.Tensor('bool', Uint8Array.from([1, 0]), [1, 2]))).output.dims)).toEqual([
      1, 2, 3,
    ]);
    expect(await codeOf(() => predictTensor(layer, new ort.Tensor('string', ['1', '0'], [1, 2])))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => predictTensor(layer, new ort.Tensor('float16', Uint16Array.from([0x3c00, 0]), [1, 2])))).toBe(
      'SHAPE_MISMATCH',
    );
    expect(await codeOf(() => predictTensor(layer, [1, 2] as never))).toBe('SHAPE_MISMATCH');
    const empty = await predictTensor(layer, new ort.Tensor('int32', new Int32Array(0), [0, 2]));
    expect(empty.output.dims).toEqual([0, 2, 3]);
    expect(empty.mask).toBeNull();

    const plain = await Embedding.create({ inputDim: 6, outputDim: 3, maskZero: true, seed: 8 }, { backend: createPlainBackend() });
    const r = await predictTensor(plain, new ort.Tensor('int64', BigInt64Array.from([0n, 4n]), [1, 2]));
    expect(r.output.dims).toEqual([1, 2, 3]);
    expect(r.output.data).toEqual(gatherRows(initialTable({ inputDim: 6, outputDim: 3, seed: 8 }), [0, 4], 3));
    expect(Array.from(r.mask!.data as Uint8Array)).toEqual([0, 1]);

    await layer.dispose();
    expect(await codeOf(() => predictTensor(layer, new ort.Tensor('int32', Int32Array.from([1, 2]), [1, 2])))).toBe('LAYER_DISPOSED');
  });
});

describe('layer.export("onnx")', () => {
  for (const indexType of ['int32', 'int64'] as const) {
    it(`returns a valid model that a fresh session runs with identical outputs (${indexType})`, async () => {
      const layer = await onnxLayer({ ...SEED, maskZero: true }, { indexType });
      await layer.setWeights([initialTable({ ...SEED, seed: 43 })]);
      const bytes = await layer.export('onnx');
      const model = decodeModel(bytes);
      checkModel(model);
      const session = await ort.InferenceSession.create(bytes);
      try {
        expect(session.inputMetadata[0]).toMatchObject({ name: 'indices', type: indexType, shape: ['batch', 10] });
        const ids = randomIndices(320, 1000, 77);
        const data = indexType === 'int32' ? ids : BigInt64Array.from(ids, BigInt);
        const r = await session.run({ indices: new ort.Tensor(indexType, data, [32, 10]) });
        const mine = await layer.predict({ data: ids, shape: [32, 10] });
        expect(r.output!.dims).toEqual([32, 10, 64]);
        expect(r.output!.data).toEqual(mine.data);
        expect(r.mask!.data).toEqual(layer.computeMask({ data: ids, shape: [32, 10] })!.data);
      } finally {
        await session.release();
      }
      expect(await codeOf(() => layer.export('keras'))).toBe('UNSUPPORTED_FEATURE');
    });
  }
});
