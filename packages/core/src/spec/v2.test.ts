import { describe, expect, it } from 'vitest';
import { defineBackend } from '../backend/define-backend.js';
import { checkBackendOptions } from '../backend/options.js';
import { lazyPeer } from '../backend/peer.js';
import { Embedding } from '../embedding.js';
import { describeValue } from '../errors/describe-value.js';
import { STORAGE } from '../storage/capabilities.js';
import { readAllRows } from '../tensor/rows.js';
import type { EmbeddingTableV2, NativeTypes } from './v2/embedding-backend-v2.js';

/** A small in-memory v2 backend that counts hook calls (asynchronous hooks, as a remote table has). */
function memoryBackend(supports: Parameters<typeof defineBackend>[0]['supports'] = {}) {
  const calls = { lookup: 0, read: 0, write: 0, dispose: 0 };
  const backend = defineBackend({
    name: 'memory',
    supports: { training: true, ...supports },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2<NativeTypes>> {
      const d = config.outputDim;
      const w = await readAllRows(initial);
      return {
        async doLookup(indices) {
          calls.lookup++;
          const data = new Float32Array(indices.data.length * d);
          indices.data.forEach((row, i) => {
            data.set(w.subarray(row * d, (row + 1) * d), i * d);
          });
          return { data, shape: [...indices.shape, d] };
        },
        async doReadRows(start, count) {
          calls.read++;
          return w.slice(start * d, (start + count) * d);
        },
        async doWriteRows(start, rows) {
          calls.write++;
          w.set(rows, start * d);
        },
        async doScatterAdd(rows, deltas) {
          rows.forEach((row, k) => {
            for (let c = 0; c < d; c++) w[row * d + c] = w[row * d + c]! + deltas[k * d + c]!;
          });
        },
        async doDispose() {
          calls.dispose++;
        },
      };
    },
  });
  return { backend, calls };
}

async function code(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'no error';
}

describe('spec v2 in core', () => {
  it('refuses an output over maxOutputBytes before any hook runs, and the layer still works', async () => {
    const { backend, calls } = memoryBackend({ maxOutputBytes: 1024 });
    const layer = await Embedding.create({ inputDim: 10, outputDim: 4, seed: 1 }, { backend });
    expect(await code(() => layer.predict(new Int32Array(65)))).toBe('LIMIT_EXCEEDED'); // 65 x 4 x 4 = 1040 bytes
    expect(calls.lookup).toBe(0);
    expect((await layer.predict(new Int32Array(64))).data).toHaveLength(256);
    expect(calls.lookup).toBe(1);
  });

  it('moves whole tables in chunks of rows through doReadRows / doWriteRows', async () => {
    const { backend, calls } = memoryBackend();
    // 70,000 rows of 64 floats = 17.9 MB: two 16 MiB chunks.
    const layer = await Embedding.create({ inputDim: 70_000, outputDim: 64, seed: 1 }, { backend });
    const [w] = await layer.getWeights();
    expect(calls.read).toBe(2);
    w!.fill(0.5);
    await layer.setWeights([w!]);
    expect(calls.write).toBe(2);
    expect(Array.from(await layer.readRows(69_999, 1))).toEqual(new Array(64).fill(0.5));
  });

  it('dispose() waits for running calls, and fit stops with LAYER_DISPOSED at the next batch', async () => {
    const { backend, calls } = memoryBackend();
    const layer = await Embedding.create({ inputDim: 5, outputDim: 2, seed: 1 }, { backend });
    layer.compile('sgd', 'mse');
    let batches = 0;
    const fit = layer.fit([[0], [1], [2], [3]], new Float32Array(8), {
      batchSize: 1,
      callbacks: {
        onBatchEnd: () => {
          batches++;
          if (batches === 1) void layer.dispose();
        },
      },
    });
    expect(await code(() => fit)).toBe('LAYER_DISPOSED');
    expect(batches).toBe(1);
    await layer.dispose();
    expect(calls.dispose).toBe(1);
  });

  it('checks the manifest: an unknown capability (v1 nativeMask) or a storage claiming a tighter bound than the codec is an INVALID_CONFIG', async () => {
    expect(
      await code(() => defineBackend({ name: 'x', supports: { nativeMask: true } as never, doCreateTable: () => ({}) as never })),
    ).toBe('INVALID_CONFIG');
    const tooTight = { ...STORAGE.int8, bound: { relative: 0.001, absolute: 0 } };
    expect(await code(() => defineBackend({ name: 'x', supports: { storage: tooTight }, doCreateTable: () => ({}) as never }))).toBe(
      'INVALID_CONFIG',
    );
    expect(Object.isFrozen(memoryBackend().backend.supports)).toBe(true);
  });

  it('refuses an unknown specification version with its own error class', async () => {
    const backend = { ...memoryBackend().backend, specificationVersion: 'v3' } as never;
    expect(await code(() => Embedding.create({ inputDim: 2, outputDim: 2 }, { backend }))).toBe('UNSUPPORTED_SPEC_VERSION');
  });

  it('checkBackendOptions names the factory, the option, the rule and the value; lazyPeer retries after a failure', async () => {
    const rules = { storage: { kind: 'oneOf', values: ['float32', 'int8'] } } as const;
    expect(await code(() => checkBackendOptions('createX', { storage: 'int4' }, rules))).toBe('INVALID_CONFIG');
    expect(await code(() => checkBackendOptions('createX', { storag: 'int8' }, rules))).toBe('INVALID_CONFIG');
    let attempts = 0;
    const load = lazyPeer('some-peer', {
      load: async () => {
        attempts++;
        if (attempts === 1) throw new Error('not installed');
        return { ok: true };
      },
      pick: (m) => ((m as { ok?: boolean }).ok ? (m as { ok: boolean }) : null),
    });
    expect(await code(load)).toBe('MISSING_PEER');
    expect(await load()).toEqual({ ok: true });
    expect(await code(() => lazyPeer('some-peer', { load: async () => ({}), pick: () => null, source: {} })())).toBe('INVALID_CONFIG');
  });

  it('describeValue shows type, length and first values, never a whole array', () => {
    const text = describeValue(new Float32Array(12_800_000).fill(0.25));
    expect(text).toBe('Float32Array(12800000) [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, …]');
    expect(describeValue('x'.repeat(10_000)).length).toBeLessThan(100);
    expect(describeValue({ a: [1, 2, 3], b: 'c' })).toBe('{ a: [1, 2, 3], b: "c" }');
    expect(describeValue(Array.from({ length: 1000 }, (_, i) => i)).length).toBeLessThan(100);
  });
});
