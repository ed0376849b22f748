import { randomIndices } from '@embedding-layer/conformance';
import { Embedding, InvalidConfigError } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createJsBackend, type JsBackendOptions } from './index.js';

/** Weights whose bit patterns are distinct per position (including a NaN payload and -0), so a wrong row or a canonicalized NaN shows. */
function patternedWeights(rows: number, d: number): Float32Array {
  const w = new Float32Array(rows * d);
  const bits = new Uint32Array(w.buffer);
  for (let i = 0; i < w.length; i++) w[i] = (i % 7919) / 31 - 100;
  if (w.length > 2) {
    bits[1] = 0x7fa00001; // a signalling NaN with a payload
    bits[2] = 0x80000000; // -0
  }
  return w;
}

/** The lookup computed independently: one element at a time over the bits. */
function reference(weights: Float32Array, d: number, ids: Int32Array): Uint32Array {
  const src = new Uint32Array(weights.buffer, weights.byteOffset, weights.length);
  const out = new Uint32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) for (let c = 0; c < d; c++) out[i * d + c] = src[ids[i]! * d + c]!;
  return out;
}

const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The first position where the bits differ (-1: none); vitest's deep equality is too slow for arrays this size. */
function firstDifference(actual: Float32Array, expected: Uint32Array): number {
  const bits = bitsOf(actual);
  if (bits.length !== expected.length) return Math.min(bits.length, expected.length);
  for (let i = 0; i < bits.length; i++) if (bits[i] !== expected[i]) return i;
  return -1;
}

async function layerOn(options: JsBackendOptions, rows: number, d: number) {
  const weights = patternedWeights(rows, d);
  const layer = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: createJsBackend(options), weights: [weights] });
  return { layer, weights };
}

describe('code paths', () => {
  const paths: [string, JsBackendOptions, string][] = [
    ['wasm kernel', { kernel: 'wasm', workers: 0 }, 'wasm'],
    ['wasm kernel with a worker', { kernel: 'wasm', workers: 1, workerThreshold: 0 }, 'wasm+workers'],
    ['JS fallback', { kernel: 'js' }, 'js'],
    ['sharded JS', { shardBytes: 4096 }, 'sharded'],
  ];
  for (const [name, options, path] of paths) {
    describe(name, () => {
      it(`runs on the ${path} path`, async () => {
        const { layer } = await layerOn(options, 100, 16);
        expect(layer.describe().path).toBe(path);
      });
      for (const d of [1, 3, 4, 16, 33, 128, 300]) {
        it(`outputDim ${d}: fresh and caller outputs are bit-identical to an element-wise gather`, async () => {
          const rows = 257;
          const { layer, weights } = await layerOn(options, rows, d);
          // More rows than one 256 kB chunk for the larger dims, so chunking and the worker split are exercised.
          const ids = randomIndices(d, 3001, rows);
          const expected = reference(weights, d, ids);
          const fresh = await layer.predict({ data: ids, shape: [3001] });
          expect(fresh.shape).toEqual([3001, d]);
          expect(firstDifference(fresh.data, expected)).toBe(-1);
          const into = new Float32Array(3001 * d + 3).subarray(3);
          const result = await layer.predict({ data: ids, shape: [3001] }, { out: into });
          expect(result.data).toBe(into);
          expect(firstDifference(into, expected)).toBe(-1);
          const shared = new Float32Array(new SharedArrayBuffer(3001 * d * 4));
          await layer.predict({ data: ids, shape: [3001] }, { out: shared });
          expect(firstDifference(shared, expected)).toBe(-1);
        });
      }
      it('every row count from 0 to 9 (the kernel copies 4-row groups, then the rest)', async () => {
        const { layer, weights } = await layerOn(options, 40, 8);
        for (let n = 0; n <= 9; n++) {
          const ids = randomIndices(100 + n, n, 40);
          const out = await layer.predict({ data: ids, shape: [n] });
          expect(firstDifference(out.data, reference(weights, 8, ids))).toBe(-1);
        }
      });
      it('setWeights, a training step and getWeights agree with a plain array', async () => {
        const { layer, weights } = await layerOn(options, 300, 5);
        const next = patternedWeights(300, 5).map((v) => v * 2);
        await layer.setWeights([next]);
        expect(bitsOf((await layer.getWeights())[0]!)).toEqual(bitsOf(next));
        const ids = new Int32Array([0, 299, 150, 0]);
        const grad = Float32Array.from({ length: 20 }, (_, i) => i / 8);
        await layer.applyGradients(ids, grad, { learningRate: 0.5 });
        const expected = next.slice();
        for (const [k, row] of [0, 299, 150, 0].entries())
          for (let c = 0; c < 5; c++) expected[row * 5 + c] = Math.fround(expected[row * 5 + c]! - Math.fround(0.5 * grad[k * 5 + c]!));
        const got = (await layer.getWeights())[0]!;
        for (const r of [299, 150]) expect(got.subarray(r * 5, r * 5 + 5)).toEqual(expected.subarray(r * 5, r * 5 + 5));
        expect(weights.length).toBe(1500);
      });
    });
  }
});

describe('the worker path', () => {
  it('splits a lookup above the threshold and writes a fresh output to shared memory', async () => {
    const { layer, weights } = await layerOn({ kernel: 'wasm', workers: 1, workerThreshold: 1024 }, 1000, 64);
    const ids = randomIndices(5, 4096, 1000);
    const out = await layer.predict(ids);
    expect(out.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(firstDifference(out.data, reference(weights, 64, ids))).toBe(-1);
    const small = await layer.predict(ids.subarray(0, 2));
    expect(small.data.buffer).toBeInstanceOf(ArrayBuffer);
  });
  it('concurrent lookups on several tables do not mix', async () => {
    const a = await layerOn({ kernel: 'wasm', workers: 1, workerThreshold: 0 }, 500, 8);
    const b = await layerOn({ kernel: 'wasm', workers: 1, workerThreshold: 0 }, 700, 12);
    const ids = randomIndices(9, 2000, 500);
    const results = await Promise.all([a.layer.predict(ids), b.layer.predict(ids), a.layer.predict(ids)]);
    expect(firstDifference(results[0].data, reference(a.weights, 8, ids))).toBe(-1);
    expect(firstDifference(results[1].data, reference(b.weights, 12, ids))).toBe(-1);
    expect(firstDifference(results[2].data, reference(a.weights, 8, ids))).toBe(-1);
  });
});

describe('sharding', () => {
  it('splits rows into shards of at most shardBytes (at least one row each)', async () => {
    const { layer } = await layerOn({ shardBytes: 4096 }, 1000, 10);
    expect(layer.describe()).toMatchObject({ path: 'sharded', shardRows: 102, shardCount: 10, storedBytes: 40000 });
    const one = await layerOn({ shardBytes: 1 }, 7, 3);
    expect(one.layer.describe().shardCount).toBe(7);
  });
  it('reads and writes rows across shard boundaries (layer.readRows / writeRows)', async () => {
    const { layer, weights } = await layerOn({ shardBytes: 64 }, 50, 3);
    expect(await layer.readRows(4, 3)).toEqual(weights.subarray(12, 21));
    await layer.writeRows(4, new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const out = await layer.predict([4, 5, 6]);
    expect(Array.from(out.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(bitsOf(await layer.readRows(0, 50))).toEqual(bitsOf((await layer.getWeights())[0]!));
  });
  for (const [name, options] of [
    ['wasm', { kernel: 'wasm', workers: 0 }],
    ['js', { kernel: 'js' }],
  ] as const) {
    it(`reads and writes rows on the ${name} path too`, async () => {
      const { layer, weights } = await layerOn(options, 20, 4);
      expect(layer.describe()).toMatchObject({ shardCount: 1, shardRows: 20, storage: 'float32' });
      expect(await layer.readRows(18, 2)).toEqual(weights.subarray(72, 80));
      await layer.writeRows(19, new Float32Array([9, 8, 7, 6]));
      expect(Array.from((await layer.predict([19])).data)).toEqual([9, 8, 7, 6]);
    });
  }
  it('declares tables and outputs up to one Float32Array of 2^32 - 1 floats', () => {
    expect(createJsBackend().supports.maxTableBytes).toBe((2 ** 32 - 1) * 4);
    expect(createJsBackend().supports.maxOutputBytes).toBe((2 ** 32 - 1) * 4);
  });
});

describe('options', () => {
  it('rejects bad options with InvalidConfigError naming the option', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return InvalidConfigError.isInstance(error) ? error.message : String(error);
      }
      return 'no error';
    };
    expect(code(() => createJsBackend({ kernel: 'gpu' as 'js' }))).toMatch(
      /options\.kernel must be one of "auto", "wasm", "js", received "gpu"/,
    );
    expect(code(() => createJsBackend({ storage: 'float64' as 'int8' }))).toMatch(/options\.storage/);
    expect(code(() => createJsBackend({ shardBytes: 0 }))).toMatch(/options\.shardBytes must be an integer >= 1/);
    expect(code(() => createJsBackend({ workers: -1 }))).toMatch(/options\.workers/);
    expect(code(() => createJsBackend({ kernel: 'wasm', storage: 'int8' }))).toMatch(/kernel 'wasm'/);
    expect(code(() => createJsBackend({ kernal: 'js' } as never))).toMatch(/unknown option "kernal"/);
  });
});
