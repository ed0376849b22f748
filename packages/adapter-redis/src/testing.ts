// Test helpers (not exported by the package): start/stop a local Redis with
// scripts/redis-cluster.mjs, and skip visibly when redis-server is not installed.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, it } from 'vitest';
import { type RedisClusterState, redisServerPath, startCluster, stopCluster } from '../../../scripts/redis-cluster.mjs';

/** Whether the tests must run (CI): a missing redis-server is then a failure, not a skip. */
export const REDIS_REQUIRED = process.env.EMBEDDING_LAYER_REQUIRE_REDIS === '1' || process.env.EMBEDDING_LAYER_REQUIRE_SHARED === '1';

/** Whether redis-server is on PATH. */
export const HAVE_REDIS = redisServerPath() !== null;

const MISSING = 'redis-server is not on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server) to run the adapter-redis tests';

/** Call at the top of a test file: fails the file when redis is required and missing, or registers a visible skipped test naming the package. */
export function requireRedis(): boolean {
  if (HAVE_REDIS) return true;
  if (REDIS_REQUIRED) throw new Error(`${MISSING} (EMBEDDING_LAYER_REQUIRE_REDIS / EMBEDDING_LAYER_REQUIRE_SHARED is set).`);
  it.skip(MISSING, () => {});
  return false;
}

/** Starts a cluster (or single node) for the file's tests and stops it after them; `get()` returns its state. */
export function useRedis(options: Parameters<typeof startCluster>[0]): { get(): RedisClusterState } {
  let state: RedisClusterState | null = null;
  beforeAll(async () => {
    state = await startCluster(options);
  }, 120_000);
  afterAll(async () => {
    await stopCluster({ basePort: options?.basePort ?? 30001 });
  }, 60_000);
  return {
    get() {
      if (!state) throw new Error('the Redis of this test file did not start');
      return state;
    },
  };
}

/** A table name no other test uses. */
export function uniqueTable(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
