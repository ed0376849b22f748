import { describe, expect, it } from 'vitest';
import { defineBackend } from './backend/define-backend.js';
import { Embedding } from './embedding.js';
import type { EmbeddingTableV2 } from './spec/v2/embedding-backend-v2.js';
import { createMemoryBackend } from './testing/memory-backend.js';

/*
 * A call that awaits before the backend reads the indices uses the values core validated,
 * even if the caller changes its array right after the call: the expected tables are those of
 * the same calls with the caller's array left alone. (trainOnBatch reads them again for the
 * gradient after the lookup's await; predict is covered by adapter-onnx's feed test; fit copies
 * its batches and applyGradients reads them before its first await, so neither can show it.)
 */
const CONFIG = { inputDim: 6, outputDim: 3, seed: 9 };

async function trained(mutate: boolean, call: (layer: Embedding, ids: Int32Array) => Promise<unknown>): Promise<number[]> {
  const layer = await Embedding.create(CONFIG, { backend: createMemoryBackend() });
  layer.compile({ className: 'SGD', config: { learning_rate: 0.5 } }, 'mse');
  const ids = Int32Array.from([1, 2]);
  const pending = call(layer, ids);
  if (mutate) ids[0] = 5;
  await pending;
  const table = Array.from((await layer.getWeights())[0]!);
  await layer.dispose();
  return table;
}

describe('indices belong to core once validated', () => {
  const calls: [string, (layer: Embedding, ids: Int32Array) => Promise<unknown>][] = [
    ['trainOnBatch', (layer, ids) => layer.trainOnBatch({ data: ids, shape: [2] }, new Float32Array(6).fill(1))],
  ];
  for (const [name, call] of calls) {
    it(`${name}: changing the caller's array after the call changes nothing`, async () => {
      const untouched = await trained(false, call);
      expect(await trained(true, call)).toEqual(untouched);
      // The row the caller wrote afterwards (5) is not the one that moved (1).
      const initial = Array.from((await (await Embedding.create(CONFIG, { backend: createMemoryBackend() })).getWeights())[0]!);
      expect(untouched.slice(15, 18)).toEqual(initial.slice(15, 18));
      expect(untouched.slice(3, 6)).not.toEqual(initial.slice(3, 6));
    });
  }
});

/** The memory backend with lookups that read the indices only after an await (as a remote table does). */
function lateReadingBackend() {
  const memory = createMemoryBackend();
  return defineBackend({
    name: 'late',
    supports: { training: true },
    async doCreateTable(config, initial) {
      const table = (await memory.doCreateTable(config, initial)) as EmbeddingTableV2;
      return {
        ...table,
        async doLookup(indices) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return table.doLookup(indices);
        },
      };
    },
  });
}

describe('predict owns its indices until the lookup settles (core reuses its copy afterwards)', () => {
  const weights = [Float32Array.from({ length: 6 * 3 }, (_, i) => i)];
  const rows = (ids: number[]) => ids.flatMap((r) => [3 * r, 3 * r + 1, 3 * r + 2]);

  it('the caller changing its array during the lookup changes nothing', async () => {
    const layer = await Embedding.create(CONFIG, { backend: lateReadingBackend(), weights });
    const ids = Int32Array.of(1, 2);
    const pending = layer.predict(ids);
    ids[0] = 5;
    expect(Array.from((await pending).data)).toEqual(rows([1, 2]));
    await layer.dispose();
  });

  it('lookups running at the same time, of the same length, each read their own indices', async () => {
    const layer = await Embedding.create(CONFIG, { backend: lateReadingBackend(), weights });
    // Settle one first, so that its copy is kept for reuse, then run three at once.
    await layer.predict(Int32Array.of(0, 0));
    const calls = [Int32Array.of(1, 2), Int32Array.of(3, 4), Int32Array.of(5, 0)].map((ids) => layer.predict(ids));
    const outputs = await Promise.all(calls);
    expect(outputs.map((o) => Array.from(o.data))).toEqual([rows([1, 2]), rows([3, 4]), rows([5, 0])]);
    // And one after they settled reuses a kept copy with the new values.
    expect(Array.from((await layer.predict(Int32Array.of(2, 1))).data)).toEqual(rows([2, 1]));
    await layer.dispose();
  });
});
