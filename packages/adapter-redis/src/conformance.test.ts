import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { Embedding, InvalidConfigError, ShapeMismatchError } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createRedisBackend } from './index.js';
import { requireRedis, uniqueTable, useRedis } from './testing.js';

// The full suite (every group, training included) against a local 3 masters + 3 replicas
// cluster, and against one password-protected node.
if (requireRedis()) {
  const cluster = useRedis({ basePort: 30001, masters: 3, replicas: 1 });
  const single = useRedis({ basePort: 30401, single: true, password: 'conformance-pw' });

  describeEmbeddingConformance({
    name: 'adapter-redis (cluster)',
    createBackend: () => createRedisBackend({ nodes: cluster.get().seeds, table: () => uniqueTable('conf'), dropOnDispose: true }),
  });
  for (const storage of ['float16', 'int8'] as const) {
    // Tolerances from the declared STORAGE bound; training is not declared (it needs float32) and is checked to reject.
    describeEmbeddingConformance({
      name: `adapter-redis (cluster, ${storage} storage)`,
      createBackend: () =>
        createRedisBackend({ nodes: cluster.get().seeds, storage, table: () => uniqueTable('conf'), dropOnDispose: true }),
    });
  }
  describeEmbeddingConformance({
    name: 'adapter-redis (single node)',
    createBackend: () =>
      createRedisBackend({
        url: `redis://127.0.0.1:${single.get().basePort}`,
        password: 'conformance-pw',
        table: () => uniqueTable('conf'),
        dropOnDispose: true,
      }),
  });

  describe('adapter-redis: opening tables', () => {
    it('opens an existing table without rewriting it, and refuses it with another shape', async () => {
      const table = uniqueTable('shape');
      const nodes = cluster.get().seeds;
      const first = await Embedding.create({ inputDim: 50, outputDim: 4, seed: 7 }, { backend: createRedisBackend({ nodes, table }) });
      const written = (await first.getWeights())[0]!;
      // Another layer (another seed) opens the same table: it must see the stored rows, not its initializer's.
      const second = await Embedding.create({ inputDim: 50, outputDim: 4, seed: 8 }, { backend: createRedisBackend({ nodes, table }) });
      expect((await second.getWeights())[0]).toEqual(written);
      await second.dispose();
      const wrong = Embedding.create({ inputDim: 50, outputDim: 5, seed: 7 }, { backend: createRedisBackend({ nodes, table }) });
      await expect(wrong).rejects.toSatisfy(
        (e) => ShapeMismatchError.isInstance(e) && /output_dim=4/.test((e as Error).message) && /output_dim=5/.test((e as Error).message),
      );
      const wrongRows = Embedding.create({ inputDim: 51, outputDim: 4 }, { backend: createRedisBackend({ nodes, table }) });
      await expect(wrongRows).rejects.toSatisfy((e) => ShapeMismatchError.isInstance(e));
      const wrongStorage = Embedding.create(
        { inputDim: 50, outputDim: 4 },
        { backend: createRedisBackend({ nodes, table, storage: 'int8' }) },
      );
      await expect(wrongStorage).rejects.toSatisfy((e) => ShapeMismatchError.isInstance(e) && /storage=float32/.test((e as Error).message));
      // The table is unchanged by the refused opens.
      expect((await first.getWeights())[0]).toEqual(written);
      await first.dispose();
      const drop = await Embedding.create(
        { inputDim: 50, outputDim: 4 },
        { backend: createRedisBackend({ nodes, table, dropOnDispose: true }) },
      );
      await drop.dispose();
    });

    it('refuses a wrong password with InvalidConfigError, and no password too', async () => {
      const url = `redis://127.0.0.1:${single.get().basePort}`;
      for (const password of ['not-the-password', undefined]) {
        const backend = createRedisBackend({ url, ...(password ? { password } : {}), table: uniqueTable(), timeoutMs: 3000 });
        await expect(Embedding.create({ inputDim: 3, outputDim: 2 }, { backend })).rejects.toSatisfy(
          (e) => InvalidConfigError.isInstance(e) && /refused the credentials/.test((e as Error).message),
        );
      }
    });
  });
}
