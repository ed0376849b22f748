import type { EmbeddingBackendV1, EmbeddingTableV1, IndexTensor } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { runConformance } from '../src/index.js';

/**
 * A minimal correct backend written here (the suite cannot depend on adapter-js, which
 * depends on it): an element-by-element gather over a Float32Array.
 */
function createTestBackend(): EmbeddingBackendV1 {
  return {
    specificationVersion: 'v1',
    name: 'test-double',
    supports: {},
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
        doDispose: () => {},
      };
    },
  };
}

/** Wraps the test backend and corrupts one behaviour. */
function broken(kind: 'off-by-one' | 'wrong-mask' | 'ignores-set-weights' | 'claims-training'): EmbeddingBackendV1 {
  const base = createTestBackend();
  return {
    ...base,
    name: `broken-${kind}`,
    supports: kind === 'claims-training' ? { ...base.supports, training: true } : base.supports,
    async doCreateTable(config, weights) {
      const table = await base.doCreateTable(config, weights);
      if (kind === 'off-by-one') {
        const lookup = table.doLookup.bind(table);
        table.doLookup = (indices: IndexTensor) => {
          const shifted = indices.data.map((i) => Math.min(i + 1, config.inputDim - 1));
          return lookup({ data: shifted, shape: indices.shape });
        };
      }
      if (kind === 'wrong-mask') {
        table.doComputeMask = (indices) => ({ data: new Uint8Array(indices.data.length).fill(1), shape: [...indices.shape] });
      }
      if (kind === 'ignores-set-weights') table.doSetWeights = () => {};
      if (kind === 'claims-training') table.doScatterAdd = () => {};
      return table;
    },
  };
}

async function failures(kind: Parameters<typeof broken>[0]): Promise<string[]> {
  const results = await runConformance({ createBackend: () => broken(kind) });
  return results.filter((r) => r.status === 'fail').map((r) => r.id);
}

describe('the conformance suite catches broken backends', () => {
  it('passes a correct backend (the control)', async () => {
    const results = await runConformance({ createBackend: () => createTestBackend() });
    expect(results.filter((r) => r.status === 'fail')).toEqual([]);
    expect(results.length).toBeGreaterThan(100);
  });

  it('fails an off-by-one lookup in the seed example and every lookup group', async () => {
    const failed = await failures('off-by-one');
    expect(failed).toContain('lookup/seed-doc-example');
    expect(failed).toContain('lookup/seed-model-32x10');
    expect(failed).toContain('lookup/K3-3');
    expect(failed).toContain('weights/set-weights-flat');
    expect(failed.filter((id) => id.startsWith('lookup/')).length).toBeGreaterThan(20);
  });

  it('fails a backend whose mask ignores zeros', async () => {
    const failed = await failures('wrong-mask');
    expect(failed).toEqual(expect.arrayContaining(['mask/K3-4', 'mask/TJ-6-int32', 'mask/mask-rank-3', 'lookup/K3-2']));
    expect(failed.every((id) => id.startsWith('mask/') || id.startsWith('lookup/'))).toBe(true);
  });

  it('fails a backend that ignores setWeights', async () => {
    const failed = await failures('ignores-set-weights');
    expect(failed).toEqual(expect.arrayContaining(['weights/set-weights-rows', 'weights/set-weights-flat']));
  });

  it('fails a backend that claims training but does not update', async () => {
    const failed = await failures('claims-training');
    expect(failed).toContain('training/apply-gradients-sgd');
  });
});
