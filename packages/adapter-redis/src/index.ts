export type { RedisStorage } from './codec.js';
export { BACKEND_UNAVAILABLE, RedisUnavailableError } from './errors.js';
export {
  createRedisBackend,
  type OpenRedisTableOptions,
  openRedisTable,
  REDIS_NODES_ENV,
  type RedisBackendOptions,
  type RedisEmbeddingTable,
} from './redis-backend.js';
export type { ServerOptimizer } from './redis-table.js';
