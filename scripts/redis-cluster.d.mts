/** The recorded state of a local Redis cluster (or single node) started by `startCluster`. */
export interface RedisClusterState {
  basePort: number;
  ports: number[];
  pids: Record<string, number>;
  dir: string;
  password: string | null;
  single: boolean;
  /** Comma-separated `127.0.0.1:port` of the masters (or the single node). */
  seeds: string;
}
/** Where `redis-server` is, or null when it is not installed. */
export function redisServerPath(): string | null;
/** The recorded state of a cluster started on `basePort`, or null. */
export function readState(basePort?: number): RedisClusterState | null;
/** Sends one command over a raw socket; resolves with the reply text. */
export function rawCommand(port: number, words: string[], password?: string | null): Promise<string>;
/** Starts one redis-server; resolves with its pid. */
export function startNode(options: { port: number; dir: string; cluster: boolean; password?: string; server?: string }): Promise<number>;
/** Starts a cluster (or one node with `single`) on 127.0.0.1 with its data in a temp folder. */
export function startCluster(options?: {
  basePort?: number;
  masters?: number;
  replicas?: number;
  password?: string;
  single?: boolean;
}): Promise<RedisClusterState>;
/** Stops exactly the recorded processes (by pid) and removes their data. */
export function stopCluster(options?: { basePort?: number }): Promise<void>;
