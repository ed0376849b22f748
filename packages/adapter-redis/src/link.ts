import { createClient, createCluster, RESP_TYPES } from '@redis/client';
import { RedisUnavailableError } from './errors.js';
import { keySlot } from './slot.js';

/** A command argument: text or bytes. @internal */
export type Arg = string | Buffer;

/** Replies keep bulk strings as Buffers (rows are bytes). */
const TYPE_MAPPING = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

/** What {@link openLink} needs. @internal */
export interface LinkOptions {
  /** Cluster seed nodes `host:port` (cluster mode), or empty with `url`. */
  nodes: readonly { host: string; port: number }[];
  /** A single node's URL (`redis://host:port`), instead of `nodes`. */
  url?: string;
  username?: string;
  password?: string;
  /** TLS options given to the client's socket (`true` for defaults). */
  tls?: boolean | Record<string, unknown>;
  /** Per-command and connect timeout, ms. */
  timeoutMs: number;
}

/** A master as seen by the client: its address and how many replicas it has. @internal */
export interface MasterInfo {
  address: string;
  replicas: number;
  /** Sends a keyless command to this master (FUNCTION LOAD, WAIT). */
  send(args: Arg[]): Promise<unknown>;
}

/**
 * One connection to a Redis Cluster (slot routing, MOVED/ASK, per-node pipelining by
 * node-redis) or to one node, with bulk replies as Buffers, a timeout on every command, and
 * connection failures turned into {@link RedisUnavailableError} naming the node.
 *
 * @internal
 */
export interface Link {
  readonly mode: 'cluster' | 'single';
  /** Sends a command routed by `key`. */
  send(key: string, readonly: boolean, args: Arg[]): Promise<unknown>;
  /** The `host:port` currently serving `key`'s slot (for messages). */
  nodeOf(key: string): string;
  /** The masters (cluster) or the node (single). */
  masters(): Promise<MasterInfo[]>;
  close(): Promise<void>;
}

function socketOptions(o: LinkOptions): Record<string, unknown> {
  const socket: Record<string, unknown> = {
    connectTimeout: o.timeoutMs,
    // Keep trying to reconnect (a restarted node comes back); commands fail by their own timeout meanwhile.
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
  };
  if (o.tls) {
    socket.tls = true;
    if (typeof o.tls === 'object') Object.assign(socket, o.tls);
  }
  return socket;
}

const CONNECTION_ERRORS = new Set([
  'ConnectionTimeoutError',
  'SocketTimeoutError',
  'ClientClosedError',
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'RootNodesUnavailableError',
  'ReconnectStrategyError',
  'TimeoutError',
  'TimeoutReadError',
  'AbortError',
]);

/** Whether `error` says the node could not be reached (as opposed to a reply from it). @internal */
export function isConnectionError(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string } | null;
  if (!e) return false;
  if (e.name && CONNECTION_ERRORS.has(e.name)) return true;
  if (e.code && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)$/.test(e.code)) return true;
  const m = e.message ?? '';
  return /CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|Socket closed|ECONNREFUSED|The client is closed/.test(m);
}

/** What each cluster-state reply means, for the error a caller reads. */
const STATE_REPLIES: Readonly<Record<string, string>> = {
  TRYAGAIN: 'a slot of the request is being migrated (resharding); retry when it has moved',
  CLUSTERDOWN: 'the cluster has no master for a slot of the request',
  MASTERDOWN: 'the node lost its link to its master',
  LOADING: 'the node is still loading its data set',
};

/** The typed error for a node that could not be reached, or that answered with a cluster-state error. @internal */
export function unavailable(what: string, nodes: string[], cause: unknown, timeoutMs: number): RedisUnavailableError {
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  const state = /\b(TRYAGAIN|CLUSTERDOWN|MASTERDOWN|LOADING)\b/.exec(cause instanceof Error ? cause.message : String(cause))?.[1];
  const who = `Redis ${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.join(', ')}`;
  const head = state
    ? `${who} answered ${what} with ${state}: ${STATE_REPLIES[state]} (${reason}).`
    : `${who} did not answer ${what} within ${timeoutMs} ms (${reason}).`;
  return new RedisUnavailableError(
    `${head} Expected a reachable master for every slot; check that the node runs, or wait for its replica to take over and retry.`,
    nodes,
    { cause },
  );
}

/** Connects to the cluster or node described by `options`; rejects with {@link RedisUnavailableError} (or the server's auth error). @internal */
export async function openLink(options: LinkOptions): Promise<Link> {
  const commandOptions = { typeMapping: TYPE_MAPPING, timeout: options.timeoutMs };
  const auth = {
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
  const where = options.url ?? options.nodes.map((n) => `${n.host}:${n.port}`).join(', ');
  const guard = async <T>(what: string, nodes: () => string[], run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (isConnectionError(error)) throw unavailable(what, nodes(), error, options.timeoutMs);
      throw error;
    }
  };
  if (options.url !== undefined) {
    const client = createClient({ url: options.url, ...auth, socket: socketOptions(options) as never, disableOfflineQueue: false });
    const authWatch = authWatcher();
    client.on('error', authWatch.listener);
    const failed = (error: unknown) => {
      client.destroy();
      throw error;
    };
    const address = (() => {
      try {
        const u = new URL(options.url!);
        return `${u.hostname}:${u.port || 6379}`;
      } catch {
        return options.url!;
      }
    })();
    await guard(
      'the connection',
      () => [address],
      () => withTimeout(Promise.race([client.connect(), authWatch.failed]), options.timeoutMs, 'connect'),
    ).catch(failed);
    const send = (args: Arg[]) =>
      guard(
        args[0] as string,
        () => [address],
        () => client.sendCommand(args, commandOptions as never) as Promise<unknown>,
      );
    return {
      mode: 'single',
      send: (_key, _readonly, args) => send(args),
      nodeOf: () => address,
      masters: async () => [{ address, replicas: 0, send }],
      close: async () => {
        await client.close().catch(() => client.destroy());
      },
    };
  }
  const cluster = createCluster({
    rootNodes: options.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
    defaults: { ...auth, socket: socketOptions(options) as never },
    commandOptions: commandOptions as never,
  });
  const watcher = authWatcher();
  cluster.on('error', watcher.listener);
  try {
    await guard(
      'the connection',
      () => options.nodes.map((n) => `${n.host}:${n.port}`),
      () => withTimeout(Promise.race([cluster.connect(), watcher.failed]), options.timeoutMs * 2, `connect to ${where}`),
    );
  } catch (error) {
    cluster.destroy();
    // One seed that is a plain (non-cluster) node: use it as a single node.
    if (
      options.nodes.length === 1 &&
      /cluster support disabled/i.test(`${(error as Error).message} ${String((error as { cause?: unknown }).cause)}`)
    ) {
      const n = options.nodes[0]!;
      return openLink({
        ...options,
        nodes: [],
        url: `${options.tls ? 'rediss' : 'redis'}://${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`,
      });
    }
    throw error;
  }
  const nodeOf = (key: string): string => {
    const shard = cluster.slots[keySlot(key)];
    return shard ? `${shard.master.host}:${shard.master.port}` : `(no master for slot ${keySlot(key)})`;
  };
  return {
    mode: 'cluster',
    send: (key, readonly, args) =>
      guard(
        args[0] as string,
        () => [nodeOf(key)],
        () => cluster.sendCommand(key, readonly, args, commandOptions as never) as Promise<unknown>,
      ),
    nodeOf,
    masters: async () =>
      cluster.masters.map((m) => {
        const address = `${m.host}:${m.port}`;
        const shard = cluster.slots.find((s) => s && s.master === m);
        return {
          address,
          replicas: shard?.replicas?.length ?? 0,
          send: (args: Arg[]) =>
            guard(
              args[0] as string,
              () => [address],
              async () => {
                const client = await cluster.nodeClient(m);
                return client.sendCommand(args, commandOptions as never) as Promise<unknown>;
              },
            ),
        };
      }),
    close: async () => {
      await cluster.close().catch(() => cluster.destroy());
    },
  };
}

/** Rejects `failed` on the first authentication error the client reports (it would otherwise keep reconnecting until the timeout). */
function authWatcher(): { listener: (error: unknown) => void; failed: Promise<never> } {
  let reject: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, r) => {
    reject = r;
  });
  failed.catch(() => {});
  return {
    listener: (error: unknown) => {
      if (/WRONGPASS|NOAUTH|NOPERM|invalid password|Authentication required/i.test((error as Error)?.message ?? '')) reject(error);
    },
    failed,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const e = new Error(`${what} took longer than ${ms} ms`);
      e.name = 'ConnectionTimeoutError';
      reject(e);
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
