import type {
  EmbeddingBackendV2,
  EmbeddingOutput,
  EmbeddingTableV2,
  IndexTensor,
  KerasObject,
  OptimizerSupportV2,
  ResolvedEmbeddingConfig,
  RowSource,
  TableReplacementV2,
} from '@embedding-layer/core';
import { InvalidConfigError } from '@embedding-layer/core';
import { checkBackendOptions, defineBackend, optionError, rowSource, STORAGE } from '@embedding-layer/core/backend';
import type { RedisStorage } from './codec.js';
import { Connection } from './connection.js';
import type { LinkOptions } from './link.js';
import { RedisTable, type ServerOptimizer, type TableSpec } from './redis-table.js';

/** The environment variable with the default cluster seed nodes, comma-separated `host:port`. */
export const REDIS_NODES_ENV = 'EMBEDDING_LAYER_REDIS_NODES';

/** Options of {@link createRedisBackend}. Every one is optional except where to connect (`nodes`, `url` or the environment). */
export interface RedisBackendOptions {
  /**
   * Redis Cluster seed nodes: `'host:port,host:port'` or `['host:port', ...]`. Default: the
   * environment variable `EMBEDDING_LAYER_REDIS_NODES`. One node that is not in cluster mode
   * is used as a single node.
   */
  nodes?: string | readonly string[];
  /** One Redis or Valkey node instead of a cluster, e.g. `'redis://127.0.0.1:6379'` (`rediss://` for TLS). */
  url?: string;
  /**
   * The table's name (letters, digits, `_ - .`), or a function of the layer's config that
   * returns it. Default: the layer's `name` (Keras's `embedding`, ...). Layers that use the same
   * name on the same Redis share the table.
   */
  table?: string | ((config: ResolvedEmbeddingConfig) => string);
  /** Prefix of every key. Default `'el'`. */
  prefix?: string;
  /**
   * When the table already exists: `'open'` (default) uses it as it is, without reading the
   * initializer or writing a row (its input_dim, output_dim and storage must match the layer's,
   * else `ShapeMismatchError`); `'replace'` overwrites it with the layer's initial weights (a new
   * version, switched in atomically); `'error'` refuses with `InvalidConfigError`.
   */
  ifExists?: 'open' | 'replace' | 'error';
  /** ACL user name (Redis 6+). */
  username?: string;
  /** Password (`requirepass` or the ACL user's). */
  password?: string;
  /** TLS: `true`, or options passed to Node's `tls.connect` through the client's socket options. */
  tls?: boolean | Record<string, unknown>;
  /** How long a command may take before it fails with `RedisUnavailableError` naming the node, ms. Default 5000. */
  timeoutMs?: number;
  /** How rows are stored: `'float32'` (default, exact, trainable), `'float16'` or `'int8'` (Keras 3's per-row int8): fewer bytes in memory and over the wire. */
  storage?: RedisStorage;
  /** Rows per block (one hash; a batch reads each block it touches with one HMGET). Default 1024; at most 4096. */
  blockRows?: number;
  /**
   * Replicas that must acknowledge each write (Redis `WAIT`) before a write or training step
   * resolves: `'auto'` (default) waits for 1 where the master has a replica and for none on a
   * single node; `0` does not wait (faster, and a write acknowledged just before its master
   * fails can be lost).
   */
  waitReplicas?: number | 'auto';
  /** How long `WAIT` may take, ms. Default `timeoutMs`. */
  waitTimeoutMs?: number;
  /** Delete the table when the layer is disposed (tests, scratch tables). Default false: the table outlives the process. */
  dropOnDispose?: boolean;
  /**
   * Largest table (input_dim x output_dim x 4 bytes) a layer may create: a guard against a
   * typo filling the cluster. Default 16 GiB; raise it to what the cluster holds (`Infinity`
   * for no limit). The client never holds the table, so this is not limited by its memory.
   */
  maxTableBytes?: number;
  /**
   * Run the optimizer of `fit` / `trainOnBatch` / `applyGradients` on the server (`el_step`),
   * with its state beside the rows in Redis, so that every process training the table shares
   * one optimizer state: SGD without momentum, Adagrad, RMSprop without momentum and not
   * centered (`supports.optimizers`). Default true. `false`: core computes each step's deltas
   * with the state in this process (reset by `compile`, as on every backend) and the server only
   * adds them.
   */
  serverOptimizers?: boolean;
}

const FACTORY = 'createRedisBackend';
const NAME = /^[A-Za-z0-9_.-]{1,200}$/;

function parseNodes(value: string | readonly string[], from: string): { host: string; port: number }[] {
  const list = (typeof value === 'string' ? value.split(',') : [...value]).map((s) => String(s).trim()).filter(Boolean);
  if (list.length === 0) throw optionError(FACTORY, from, value, "one or more 'host:port' seed nodes");
  return list.map((s) => {
    const m = /^(.+):(\d{1,5})$/.exec(s);
    const port = m ? Number(m[2]) : Number.NaN;
    if (!m || port < 1 || port > 65535)
      throw optionError(FACTORY, from, value, "comma-separated 'host:port' (e.g. '127.0.0.1:30001,127.0.0.1:30002')");
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** Resolved options, shared by the backend and {@link openRedisTable}. @internal */
export interface ResolvedRedisOptions {
  link: LinkOptions;
  table: RedisBackendOptions['table'];
  prefix: string;
  ifExists: 'open' | 'replace' | 'error';
  storage: RedisStorage;
  blockRows: number;
  waitReplicas: number | 'auto';
  waitTimeoutMs: number;
  dropOnDispose: boolean;
  maxTableBytes: number;
  serverOptimizers: boolean;
}

/** Checks the options (`InvalidConfigError` naming the option) and fills the defaults. @internal */
export function resolveRedisOptions(options: RedisBackendOptions | undefined, factory = FACTORY): ResolvedRedisOptions {
  const o = checkBackendOptions<RedisBackendOptions>(factory, options, {
    nodes: { kind: 'any' },
    url: { kind: 'string' },
    table: { kind: 'any' },
    prefix: { kind: 'string' },
    ifExists: { kind: 'oneOf', values: ['open', 'replace', 'error'] },
    username: { kind: 'string' },
    password: { kind: 'any' },
    tls: { kind: 'any' },
    timeoutMs: { kind: 'integer', min: 1, max: 600_000 },
    storage: { kind: 'oneOf', values: ['float32', 'float16', 'int8'] },
    blockRows: { kind: 'integer', min: 1, max: 4096 },
    waitReplicas: { kind: 'any' },
    waitTimeoutMs: { kind: 'integer', min: 0, max: 600_000 },
    dropOnDispose: { kind: 'boolean' },
    maxTableBytes: { kind: 'any' },
    serverOptimizers: { kind: 'boolean' },
  });
  const maxTableBytes = o.maxTableBytes ?? 2 ** 34;
  if (typeof maxTableBytes !== 'number' || !(maxTableBytes >= 0)) {
    throw optionError(factory, 'maxTableBytes', maxTableBytes, 'a number of bytes >= 0 (Infinity for no limit)');
  }
  if (o.password !== undefined && typeof o.password !== 'string') throw optionError(factory, 'password', o.password, 'a string');
  if (o.table !== undefined && typeof o.table !== 'function' && !(typeof o.table === 'string' && NAME.test(o.table))) {
    throw optionError(factory, 'table', o.table, 'a name of letters, digits, _ - . (or a function of the config returning one)');
  }
  const prefix = o.prefix ?? 'el';
  if (!NAME.test(prefix)) throw optionError(factory, 'prefix', prefix, 'letters, digits, _ - .');
  const waitReplicas = o.waitReplicas ?? 'auto';
  if (waitReplicas !== 'auto' && !(Number.isInteger(waitReplicas) && waitReplicas >= 0 && waitReplicas <= 16)) {
    throw optionError(factory, 'waitReplicas', waitReplicas, "'auto' or an integer from 0 to 16");
  }
  if (o.tls !== undefined && typeof o.tls !== 'boolean' && (typeof o.tls !== 'object' || o.tls === null)) {
    throw optionError(factory, 'tls', o.tls, 'a boolean or an object of TLS socket options');
  }
  let nodes: { host: string; port: number }[] = [];
  if (o.url === undefined) {
    const env = typeof process !== 'undefined' ? process.env[REDIS_NODES_ENV] : undefined;
    if (o.nodes !== undefined) nodes = parseNodes(o.nodes as string | readonly string[], 'nodes');
    else if (env) nodes = parseNodes(env, `nodes (from ${REDIS_NODES_ENV})`);
    else {
      throw new InvalidConfigError(
        `${factory}: no Redis to connect to. Expected options.nodes (cluster seeds, 'host:port,host:port'), options.url (one node, 'redis://host:port') or the environment variable ${REDIS_NODES_ENV}; received none of them.`,
      );
    }
  } else if (o.nodes !== undefined) {
    throw new InvalidConfigError(`${factory}: pass options.nodes (a cluster) or options.url (one node), not both.`);
  }
  const timeoutMs = o.timeoutMs ?? 5000;
  return {
    link: {
      nodes,
      ...(o.url !== undefined ? { url: o.url } : {}),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
      timeoutMs,
    },
    table: o.table,
    prefix,
    ifExists: o.ifExists ?? 'open',
    storage: o.storage ?? 'float32',
    blockRows: o.blockRows ?? 1024,
    waitReplicas,
    waitTimeoutMs: o.waitTimeoutMs ?? timeoutMs,
    dropOnDispose: o.dropOnDispose ?? false,
    maxTableBytes,
    serverOptimizers: o.serverOptimizers ?? true,
  };
}

function tableName(r: ResolvedRedisOptions, config: ResolvedEmbeddingConfig): string {
  const name = typeof r.table === 'function' ? r.table(config) : (r.table ?? config.name);
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw optionError(FACTORY, 'table', name, 'a name of letters, digits, _ - . (the layer name when not given)');
  }
  return name;
}

function specOf(r: ResolvedRedisOptions, table: string, inputDim: number, outputDim: number): TableSpec {
  return {
    prefix: r.prefix,
    table,
    inputDim,
    outputDim,
    storage: r.storage,
    blockRows: r.blockRows,
    waitReplicas: r.waitReplicas,
    waitTimeoutMs: r.waitTimeoutMs,
  };
}

/**
 * Distinct rows of a batch (in order of first use), and where each index's row is among them:
 * an open-addressing hash over typed arrays, so a batch allocates nothing per index.
 *
 * @internal
 */
export function distinctRows(data: Int32Array): { rows: Int32Array; where: Int32Array } {
  const n = data.length;
  const where = new Int32Array(n);
  let bits = 4;
  while (1 << bits < 2 * n) bits++;
  const mask = (1 << bits) - 1;
  const shift = 32 - bits;
  // slots hold 1 + the row's position among the distinct rows; 0 is empty.
  const slots = new Int32Array(1 << bits);
  const rows = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const r = data[i]!;
    // Fibonacci hashing: the product's high bits depend on every bit of the row.
    let h = Math.imul(r, 0x9e3779b1) >>> shift;
    for (;;) {
      const s = slots[h]!;
      if (s === 0) {
        rows[count] = r;
        slots[h] = ++count;
        where[i] = count - 1;
        break;
      }
      if (rows[s - 1] === r) {
        where[i] = s - 1;
        break;
      }
      h = (h + 1) & mask;
    }
  }
  return { rows: rows.subarray(0, count), where };
}

/**
 * The optimizers `el_step` applies, as `supports.optimizers`. Lua computes in float64 and
 * rounds to float32 where core's optimizers do; the difference is the gradient, which goes
 * over the wire as float32 (relative error <= 2^-24) where core keeps it in float64. Through
 * g^2 (2^-23), the square root (halved) and the rounding of the step to float32 (one ulp that
 * may go the other way), a step differs from core's by at most about 2^-22 of its size, plus
 * one float32 ulp of the weight (2^-24 |w|): at most 2^-21 (1 + |w|) per step while a step
 * is no larger than 1 + |w| (Adagrad's step is at most learning_rate, RMSprop's at most
 * learning_rate / sqrt(1 - rho)). Centered RMSprop divides by v - mg^2, where cancellation can
 * magnify the gradient's rounding without bound, so it is not declared (core applies it).
 */
const SERVER_OPTIMIZERS: readonly OptimizerSupportV2[] = [
  { className: 'SGD', only: { momentum: 0 }, relativeError: 2 ** -21 },
  { className: 'Adagrad', relativeError: 2 ** -21 },
  { className: 'RMSprop', only: { momentum: 0, centered: false }, relativeError: 2 ** -21 },
];

/** Core's resolved optimizer (one of {@link SERVER_OPTIMIZERS}) as `el_step`'s arguments. */
function serverOptimizerOf(spec: KerasObject): ServerOptimizer {
  const c = spec.config as Record<string, number>;
  switch (spec.className) {
    case 'SGD':
      return { kind: 'sgd', learning_rate: c.learning_rate };
    case 'Adagrad':
      return {
        kind: 'adagrad',
        learning_rate: c.learning_rate,
        initial_accumulator_value: c.initial_accumulator_value,
        epsilon: c.epsilon,
      };
    case 'RMSprop':
      return { kind: 'rmsprop', learning_rate: c.learning_rate, rho: c.rho, epsilon: c.epsilon, centered: false };
    default:
      throw new InvalidConfigError(
        `adapter-redis: ${spec.className} does not run on the server (supports.optimizers lists SGD, Adagrad, RMSprop).`,
      );
  }
}

/** A layer's table behind the v2 hooks. */
class RedisLayerTable implements EmbeddingTableV2 {
  constructor(
    private readonly table: RedisTable,
    private readonly conn: Connection,
    private readonly dropOnDispose: boolean,
  ) {}

  async doLookup(indices: IndexTensor, out?: Float32Array): Promise<EmbeddingOutput> {
    const d = this.table.spec.outputDim;
    const data = indices.data instanceof Int32Array ? indices.data : Int32Array.from(indices.data as ArrayLike<number>);
    const result = out ?? new Float32Array(data.length * d);
    const shape = [...indices.shape, d];
    if (data.length === 0 || d === 0) return { data: result, shape };
    // Each distinct row is read once, straight into the output at its first use; its later
    // uses copy it within the output (copyWithin: the bits as stored, no allocation per index).
    const { rows, where } = distinctRows(data);
    const first = new Int32Array(rows.length).fill(-1);
    for (let i = 0; i < data.length; i++) if (first[where[i]!] === -1) first[where[i]!] = i;
    await this.table.readRowsInto(rows, result, first);
    for (let i = 0; i < data.length; i++) {
      const from = first[where[i]!]!;
      if (from !== i) result.copyWithin(i * d, from * d, from * d + d);
    }
    return { data: result, shape };
  }

  doReadRows(start: number, count: number): Promise<Float32Array> {
    return this.table.readRange(start, count);
  }

  doWriteRows(start: number, rows: Float32Array): Promise<void> {
    return this.table.writeRange(start, rows);
  }

  async doBeginReplace(): Promise<TableReplacementV2> {
    return this.table.beginReplace('replace');
  }

  doScatterAdd(rows: Int32Array, deltas: Float32Array): Promise<void> {
    return this.table.scatterAdd(rows, deltas);
  }

  /**
   * One step of core's compiled optimizer on the server (`el_step`), its state beside the rows.
   * The gradients travel as float32. Core's iteration is not used: RMSprop's idle decay counts
   * the table's own iterations (every process's steps), kept in the metadata key.
   */
  doApplyOptimizer(rows: Int32Array, gradients: Float64Array, optimizer: KerasObject): Promise<void> {
    return this.table.applyOptimizer(rows, Float32Array.from(gradients), serverOptimizerOf(optimizer));
  }

  doDescribe(): Readonly<Record<string, string | number | boolean | null>> {
    const { spec } = this.table;
    return {
      table: spec.table,
      metaKey: this.table.metaKey,
      storage: spec.storage,
      blockRows: spec.blockRows,
      mode: this.conn.options.url !== undefined ? 'single' : 'cluster',
    };
  }

  async doDispose(): Promise<void> {
    try {
      if (this.dropOnDispose) await this.table.drop();
    } finally {
      await this.conn.release();
    }
  }
}

/**
 * The Redis backend: each layer's table lives in a Redis Cluster (or one Redis/Valkey node),
 * in row blocks under hash tags, so that tables bigger than one machine's memory are served
 * and trained by several processes at once. Lookups fetch each distinct row once per batch,
 * in one pipelined round trip per node; training runs each step's optimizer (SGD, Adagrad,
 * RMSprop) on the server with a Redis Function, its state beside the rows (atomic per block,
 * so concurrent trainers share the state and never lose an update);
 * `setWeights` writes a new version and switches a pointer.
 *
 * @example
 * ```ts
 * import { Embedding } from '@embedding-layer/core';
 * import { createRedisBackend } from '@embedding-layer/adapter-redis';
 *
 * // EMBEDDING_LAYER_REDIS_NODES=127.0.0.1:30001,127.0.0.1:30002,127.0.0.1:30003
 * const layer = await Embedding.create({ inputDim: 1_000_000, outputDim: 64, name: 'users' }, { backend: createRedisBackend() });
 * const out = await layer.predict([[4, 20]]); // shape [1, 2, 64]
 * await layer.dispose(); // closes the connection; the table stays in Redis
 * ```
 */
export function createRedisBackend(options?: RedisBackendOptions): EmbeddingBackendV2 {
  const r = resolveRedisOptions(options);
  const conn = new Connection(r.link);
  return defineBackend({
    name: 'redis',
    supports: {
      training: r.storage === 'float32',
      lookupInto: true,
      storage: STORAGE[r.storage],
      // Bounded by the cluster's memory, not by this process (core never holds the whole table): a guard, raised by the option.
      maxTableBytes: r.maxTableBytes,
      // Training steps of these optimizers run on the server, their state beside the rows (float32 storage only).
      optimizers: r.serverOptimizers && r.storage === 'float32' ? SERVER_OPTIMIZERS : [],
    },
    async doCreateTable(config: ResolvedEmbeddingConfig, initial: RowSource) {
      const spec = specOf(r, tableName(r, config), config.inputDim, config.outputDim);
      conn.acquire();
      try {
        const table = await RedisTable.open(conn, spec, initial, r.ifExists);
        return new RedisLayerTable(table, conn, r.dropOnDispose);
      } catch (error) {
        await conn.release();
        throw error;
      }
    },
  });
}

/** Options of {@link openRedisTable}: the backend's, plus the table's shape. */
export interface OpenRedisTableOptions extends Omit<RedisBackendOptions, 'table'> {
  /** The table's name. */
  table: string;
  /** Rows. */
  inputDim: number;
  /** Values per row. */
  outputDim: number;
  /** Initial rows of a table that does not exist yet: row-major, `count` rows from `start`. Default: zeros. */
  initial?: (start: number, count: number) => Float32Array | Promise<Float32Array>;
}

/**
 * A table in Redis used directly, without a layer: for processes that serve or train a shared
 * table by row numbers, and for the optimizers that run on the server. Rows must be valid
 * (0 <= row < inputDim): this handle does not validate them as `Embedding` does.
 */
export interface RedisEmbeddingTable {
  /** The table's name. */
  readonly table: string;
  /** Rows as float32, `rows.length x outputDim`, all from one version. */
  readRows(rows: Int32Array): Promise<Float32Array>;
  /** Rows [start, start + count). */
  readRange(start: number, count: number): Promise<Float32Array>;
  /** Overwrites rows from `start`. */
  writeRange(start: number, values: Float32Array): Promise<void>;
  /** `table[rows[k]] += deltas[k]` on the server (distinct rows), atomic per block. */
  scatterAdd(rows: Int32Array, deltas: Float32Array): Promise<void>;
  /**
   * One optimizer step on the server from the gradients of distinct rows: sgd, adagrad or
   * rmsprop with Keras 3's formulas and defaults, the state stored beside each row, so that
   * every process training the table shares one optimizer state and loses no update.
   */
  applyOptimizer(rows: Int32Array, grads: Float32Array, optimizer: ServerOptimizer): Promise<void>;
  /** Deletes the table from Redis. */
  drop(): Promise<void>;
  /** Closes the connection (the table stays). */
  close(): Promise<void>;
}

/**
 * Opens (or creates, from `initial` or zeros) a table by name and shape, for use without a
 * layer. An existing table of another shape is a `ShapeMismatchError`.
 */
export async function openRedisTable(options: OpenRedisTableOptions): Promise<RedisEmbeddingTable> {
  const { table, inputDim, outputDim, initial, ...rest } = options ?? ({} as OpenRedisTableOptions);
  const r = resolveRedisOptions(rest, 'openRedisTable');
  for (const [name, v] of [
    ['inputDim', inputDim],
    ['outputDim', outputDim],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < (name === 'inputDim' ? 1 : 0))
      throw optionError('openRedisTable', name, v, 'a non-negative integer');
  }
  if (typeof table !== 'string' || !NAME.test(table))
    throw optionError('openRedisTable', 'table', table, 'a name of letters, digits, _ - .');
  const conn = new Connection(r.link);
  conn.acquire();
  const rows = rowSource(inputDim, outputDim, initial ?? ((_start, count) => new Float32Array(count * outputDim)));
  let t: RedisTable;
  try {
    t = await RedisTable.open(conn, specOf(r, table, inputDim, outputDim), rows, r.ifExists);
  } catch (error) {
    await conn.release();
    throw error;
  }
  return {
    table,
    async readRows(list) {
      const out = new Float32Array(list.length * outputDim);
      await t.readRowsInto(list, out);
      return out;
    },
    readRange: (start, count) => t.readRange(start, count),
    writeRange: (start, values) => t.writeRange(start, values),
    scatterAdd: (list, deltas) => t.scatterAdd(list, deltas),
    applyOptimizer: (list, grads, optimizer) => t.applyOptimizer(list, grads, optimizer),
    drop: () => t.drop(),
    close: () => conn.release(),
  };
}
