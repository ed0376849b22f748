import { describe, expect, it } from 'vitest';
import { Embedding } from './embedding.js';
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
