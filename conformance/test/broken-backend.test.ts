import type { EmbeddingBackendV1, EmbeddingBackendV2, EmbeddingTableV1, EmbeddingTableV2, IndexTensor } from '@embedding-layer/core';
import { Embedding, SpecVersionError } from '@embedding-layer/core';
import { decodeInt8, defineBackend, encodeInt8, readAllRows, STORAGE } from '@embedding-layer/core/backend';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_CASES, runConformance } from '../src/index.js';

/**
 * A minimal correct v1 backend written here, as an adapter written for spec v1 would be (the
 * suite cannot depend on adapter-js, which depends on it): core must still accept it.
 */
function createV1Backend(): EmbeddingBackendV1 {
  return {
    specificationVersion: 'v1',
    name: 'test-double-v1',
    supports: { training: true },
    doCreateTable(config, initial): EmbeddingTableV1 {
      let w = initial;
      const d = config.outputDim;
      return {
        doLookup(indices) {
          const data = new Float32Array(indices.data.length * d);
          indices.data.forEach((row, i) => {
            for (let c = 0; c < d; c++) data[i * d + c] = w[row * d + c]!;
          });
          return { data, shape: [...indices.shape, d] };
        },
        doGetWeights: () => w,
        doSetWeights: (next) => {
          w = next;
        },
        doScatterAdd(rows, deltas) {
          rows.forEach((row, k) => {
            for (let c = 0; c < d; c++) w[row * d + c] = w[row * d + c]! + deltas[k * d + c]!;
          });
        },
        doDispose: () => {},
      };
    },
  };
}

/** A minimal correct v2 backend: float32 or Keras-int8 storage (core's codec), asynchronous hooks as a remote table has them. */
function createV2Backend(storage: 'float32' | 'int8' = 'float32'): EmbeddingBackendV2 {
  return defineBackend({
    name: `test-double-v2-${storage}`,
    supports: { training: true, storage: STORAGE[storage] },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2> {
      const d = config.outputDim;
      const rows = config.inputDim;
      let values: Float32Array = new Float32Array(0);
      let q: { values: Int8Array; scales: Float32Array } = { values: new Int8Array(0), scales: new Float32Array(0) };
      const store = (w: Float32Array) => {
        if (storage === 'int8') q = encodeInt8(w, rows, d);
        else values = w;
      };
      const read = (): Float32Array => (storage === 'int8' ? decodeInt8(q.values, q.scales, d) : values);
      store(await readAllRows(initial));
      return {
        async doLookup(indices: IndexTensor) {
          const w = read();
          const data = new Float32Array(indices.data.length * d);
          indices.data.forEach((row, i) => {
            data.set(w.subarray(row * d, (row + 1) * d), i * d);
          });
          return { data, shape: [...indices.shape, d] };
        },
        async doReadRows(start, count) {
          return read().slice(start * d, (start + count) * d);
        },
        async doWriteRows(start, next) {
          const w = read().slice();
          w.set(next, start * d);
          store(w);
        },
        async doScatterAdd(ids, deltas) {
          const w = read().slice();
          ids.forEach((row, k) => {
            for (let c = 0; c < d; c++) w[row * d + c] = w[row * d + c]! + deltas[k * d + c]!;
          });
          store(w);
        },
        doDispose: () => {},
      };
    },
  });
}

type Breakage = 'off-by-one' | 'ignores-set-weights' | 'claims-training' | 'int8-off-by-one';

/** Wraps the v2 test backend and corrupts one behaviour. */
function broken(kind: Breakage): EmbeddingBackendV2 {
  const base = createV2Backend(kind === 'int8-off-by-one' ? 'int8' : 'float32');
  return defineBackend({
    name: `broken-${kind}`,
    supports: base.supports,
    async doCreateTable(config, initial) {
      const table = await base.doCreateTable(config, initial);
      if (kind === 'off-by-one' || kind === 'int8-off-by-one') {
        const lookup = table.doLookup.bind(table);
        table.doLookup = (indices: IndexTensor) => {
          const shifted = indices.data.map((i) => Math.min(i + 1, config.inputDim - 1));
          return lookup({ data: shifted, shape: indices.shape });
        };
      }
      if (kind === 'ignores-set-weights') table.doWriteRows = () => {};
      if (kind === 'claims-training') table.doScatterAdd = () => {};
      return table;
    },
  });
}

async function failures(kind: Breakage): Promise<string[]> {
  const results = await runConformance({ createBackend: () => broken(kind) });
  return results.filter((r) => r.status === 'fail').map((r) => r.id);
}

/** The `int4` group's cases for backends that store int4: skipped (visibly) on every other storage. */
const INT4_STORAGE_CASES = CONFORMANCE_CASES.filter((c) => c.id.startsWith('int4/storage ')).map((c) => c.id);

describe('the conformance suite', () => {
  it('passes a correct v2 backend (the control)', async () => {
    const results = await runConformance({ createBackend: () => createV2Backend() });
    expect(results.filter((r) => r.status === 'fail')).toEqual([]);
    // Only what the manifest excludes is skipped: this backend exports nothing and stores float32 (not int4).
    expect(results.filter((r) => r.status === 'skip').map((r) => r.id)).toEqual(['export/declared-formats', ...INT4_STORAGE_CASES]);
    expect(results.length).toBeGreaterThan(200);
  });

  it('passes a correct v1 backend: core still accepts spec v1', async () => {
    const results = await runConformance({ createBackend: () => createV1Backend() });
    expect(results.filter((r) => r.status === 'fail')).toEqual([]);
    const layer = await Embedding.create({ inputDim: 3, outputDim: 2, seed: 1 }, { backend: createV1Backend() });
    expect(layer.describe()).toMatchObject({ specificationVersion: 'v1', storage: 'float32' });
  });

  it('passes a correct int8 backend within the declared bound, skipping (visibly) only what int8 cannot hold', async () => {
    const results = await runConformance({ createBackend: () => createV2Backend('int8') });
    expect(results.filter((r) => r.status === 'fail')).toEqual([]);
    const skipped = results.filter((r) => r.status === 'skip');
    const storageSkips = skipped.filter((r) => r.id !== 'export/declared-formats' && !INT4_STORAGE_CASES.includes(r.id));
    // Bit patterns, NaN, and adaptive optimizers' trajectories; every lookup, weights and plain-SGD case runs.
    expect(
      storageSkips
        .map((r) => r.id)
        .filter((id) => !/^training\/fit-(adam|rmsprop|adagrad)/.test(id))
        .sort(),
    ).toEqual([
      // Two equal rows: on int8 rounding decides which gives the max after a step.
      'embedding-bag/training-max-ties',
      'initializer/bits-glorot-uniform',
      'initializer/bits-uniform-1234',
      'initializer/bits-uniform-99',
      // LoRA's a and b train through the gradient of the stored table: checked on float32.
      'keras3-lora/SGD(0.1), mse, 2 steps: A and B train, the table stays',
      'weights/nan-weights-allowed',
    ]);
    for (const r of storageSkips) expect(r.message).toMatch(/int8/);
    expect(results.filter((r) => r.status === 'pass' && /^training\/fit-sgd/.test(r.id)).length).toBeGreaterThanOrEqual(7);
  });

  it('refuses a backend of an unknown specification version with SpecVersionError', async () => {
    const backend = { ...createV2Backend(), specificationVersion: 'v9' } as unknown as EmbeddingBackendV2;
    await expect(Embedding.create({ inputDim: 2, outputDim: 2 }, { backend })).rejects.toSatisfy(SpecVersionError.isInstance);
  });
});

describe('the conformance suite catches broken backends', () => {
  it("fails a backend that declares int4 storage but does not store Keras 3's int4 (int8 inside: a tighter bound, another layout)", async () => {
    const base = createV2Backend('int8');
    const claimsInt4 = defineBackend({
      name: 'claims-int4',
      supports: { ...base.supports, storage: STORAGE.int4 },
      doCreateTable: (config, initial) => base.doCreateTable(config, initial),
    });
    const results = await runConformance({ createBackend: () => claimsInt4, groups: ['int4'] });
    const failed = results.filter((r) => r.status === 'fail').map((r) => r.id);
    expect(failed.sort()).toEqual([...INT4_STORAGE_CASES].sort());
    expect(results.filter((r) => r.status === 'pass').length).toBeGreaterThanOrEqual(3);
  });

  it('fails an off-by-one lookup in the seed example and every lookup group', async () => {
    const failed = await failures('off-by-one');
    expect(failed).toContain('lookup/seed-doc-example');
    expect(failed).toContain('lookup/seed-model-32x10');
    expect(failed).toContain('lookup/K3-3');
    expect(failed).toContain('weights/set-weights-flat');
    expect(failed).toContain('manifest/storage-bound');
    expect(failed.filter((id) => id.startsWith('lookup/')).length).toBeGreaterThan(20);
    // Every EmbeddingBag forward case pools looked-up rows: each sees the wrong rows.
    expect(failed.filter((id) => id.startsWith('embedding-bag/') && !id.includes('training')).length).toBeGreaterThanOrEqual(19);
  });

  it('fails an off-by-one lookup on int8 storage too: the tolerance is relative to each row, not absolute', async () => {
    const failed = await failures('int8-off-by-one');
    expect(failed).toContain('lookup/seed-doc-example');
    expect(failed).toContain('lookup/seed-model-32x10');
    expect(failed).toContain('manifest/storage-bound');
    expect(failed.filter((id) => id.startsWith('lookup/')).length).toBeGreaterThan(20);
  });

  it('fails a backend that ignores writes (setWeights, writeRows)', async () => {
    const failed = await failures('ignores-set-weights');
    expect(failed).toEqual(expect.arrayContaining(['weights/set-weights-rows', 'weights/set-weights-flat', 'rows/read-write']));
  });

  it('fails a backend that claims training but does not update', async () => {
    const failed = await failures('claims-training');
    expect(failed).toContain('training/apply-gradients-sgd');
    expect(failed).toEqual(expect.arrayContaining(['embedding-bag/training-sum-ragged', 'embedding-bag/training-max-fixed']));
  });
});
