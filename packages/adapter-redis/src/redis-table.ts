import { InvalidConfigError, type RowSource, ShapeMismatchError } from '@embedding-layer/core';
import { copySourceRows } from '@embedding-layer/core/backend';
import { decodeRow, encodeRows, type RedisStorage, rowBytes } from './codec.js';
import { type Connection, isMissingFunction, loadFunctions } from './connection.js';
import { RedisUnavailableError } from './errors.js';
import type { Arg, Link } from './link.js';

/** The layout version written in each table's metadata; a table of another layout is refused. */
const LAYOUT = '2';

/**
 * Blocks share a hash tag by `block % TAG_GROUPS`: the groups spread over the cluster's slots,
 * and a sparse batch that touches many blocks of a group reads them with one function call.
 */
const TAG_GROUPS = 1024;

/** Attempts of a read whose version changed under it (a concurrent `setWeights`) before giving up. */
const READ_ATTEMPTS = 8;

/**
 * An optimizer step run on the server, with its state stored beside the rows (Keras 3 formulas,
 * the same as core's optimizers): `sgd` (no momentum), `adagrad`, `rmsprop` (no momentum,
 * optionally centered). Field names and defaults are Keras's.
 */
export type ServerOptimizer =
  | { readonly kind: 'sgd'; readonly learning_rate?: number }
  | { readonly kind: 'adagrad'; readonly learning_rate?: number; readonly initial_accumulator_value?: number; readonly epsilon?: number }
  | {
      readonly kind: 'rmsprop';
      readonly learning_rate?: number;
      readonly rho?: number;
      readonly epsilon?: number;
      readonly centered?: boolean;
    };

/** The shape and place of a table. @internal */
export interface TableSpec {
  prefix: string;
  table: string;
  inputDim: number;
  outputDim: number;
  storage: RedisStorage;
  blockRows: number;
  /** Replicas each write waits for (`WAIT`), or 'auto' (1 when the master has a replica). */
  waitReplicas: number | 'auto';
  waitTimeoutMs: number;
}

interface BlockGroup {
  block: number;
  /** Field names (row numbers inside the block). */
  fields: string[];
  /** Where each row goes in the caller's order. */
  at: number[];
}

/** Positions of a read grouped by block (see `RedisTable#plan`). */
interface ReadPlan {
  /** The blocks touched, in order of first use. */
  blocks: number[];
  /** `order[starts[i] .. starts[i + 1])` are the positions of block `blocks[i]`'s rows. */
  starts: Int32Array;
  order: Int32Array;
}

/**
 * One Embedding table in Redis. Layout (all keys ASCII):
 *
 * - `<prefix>:{<table>}:meta`: a hash `version, input_dim, output_dim, storage, block_rows,
 *   layout, next_version`. `version` is the pointer to the live table.
 * - `<prefix>:{<table>/<version>/<block>}:w`: a hash of `blockRows` rows (field = row number
 *   inside the block, value = the encoded row); the hash tag puts a block and its optimizer
 *   state `…:s` in one slot, and spreads blocks over the cluster.
 *
 * A batch is one `HMGET` per block touched, sent together (node-redis pipelines them per
 * node), plus the pointer read in the same round: a read whose pointer moved, or that met a
 * deleted block, is retried on the new version, so no result mixes two versions.
 *
 * @internal
 */
export class RedisTable {
  /** The live version, as last read. */
  private version: string;
  private readonly rb: number;
  private names: string[] | undefined;

  private constructor(
    private readonly conn: Connection,
    readonly spec: TableSpec,
    version: string,
  ) {
    this.version = version;
    this.rb = rowBytes(spec.storage, spec.outputDim);
  }

  /** The metadata key. */
  get metaKey(): string {
    return `${this.spec.prefix}:{${this.spec.table}}:meta`;
  }

  /** The row hash of `block` in `version`. */
  blockKey(version: string, block: number): string {
    return `${this.spec.prefix}:{${this.spec.table}/${version}/${block % TAG_GROUPS}}:w:${block}`;
  }

  /** The optimizer-state hash beside a block (same hash tag, so same slot). */
  stateKey(version: string, block: number): string {
    return `${this.spec.prefix}:{${this.spec.table}/${version}/${block % TAG_GROUPS}}:s:${block}`;
  }

  private get blocks(): number {
    return Math.ceil(this.spec.inputDim / this.spec.blockRows);
  }

  /**
   * Opens the table named by `spec`: an existing one is opened as it is (its rows are not
   * read or written; a different input_dim, output_dim or storage is a `ShapeMismatchError`),
   * unless `ifExists` is `'replace'` (a new version from `initial`, switched in atomically) or
   * `'error'`. A missing table is created from `initial`.
   */
  static async open(conn: Connection, spec: TableSpec, initial: RowSource, ifExists: 'open' | 'replace' | 'error'): Promise<RedisTable> {
    const probe = new RedisTable(conn, spec, '');
    const meta = await probe.readMeta();
    if (meta) {
      probe.checkMeta(meta);
      if (ifExists === 'error') {
        throw new InvalidConfigError(
          `Redis table ${JSON.stringify(spec.table)} (${probe.metaKey}) already exists; options.ifExists is 'error'. Use 'open' to use it or 'replace' to overwrite it.`,
        );
      }
      probe.version = meta.version!;
      if (ifExists === 'open') return probe;
    }
    const replacement = await probe.beginReplace(meta ? 'replace' : 'create');
    try {
      await copySourceRows(initial, (start, rows) => replacement.write(start, rows));
    } catch (error) {
      await replacement.abort().catch(() => {});
      throw error;
    }
    await replacement.commit();
    return probe;
  }

  private async readMeta(): Promise<Record<string, string> | null> {
    const reply = (await this.conn.run((l) => l.send(this.metaKey, true, ['HGETALL', this.metaKey]))) as unknown;
    const meta: Record<string, string> = {};
    if (Array.isArray(reply)) {
      for (let i = 0; i + 1 < reply.length; i += 2) meta[String(reply[i])] = String(reply[i + 1]);
    } else if (reply && typeof reply === 'object') {
      for (const [k, v] of reply instanceof Map ? reply : Object.entries(reply)) meta[String(k)] = String(v);
    }
    return meta.version === undefined ? null : meta;
  }

  private checkMeta(meta: Record<string, string>): void {
    const { spec } = this;
    const want: [string, string][] = [
      ['input_dim', String(spec.inputDim)],
      ['output_dim', String(spec.outputDim)],
      ['storage', spec.storage],
      ['block_rows', String(spec.blockRows)],
      ['layout', LAYOUT],
    ];
    const wrong = want.filter(([k, v]) => meta[k] !== v);
    if (wrong.length > 0) {
      throw new ShapeMismatchError(
        `Redis table ${JSON.stringify(spec.table)} (${this.metaKey}) holds ${wrong.map(([k]) => `${k}=${meta[k]}`).join(', ')}; ` +
          `this layer expected ${wrong.map(([k, v]) => `${k}=${v}`).join(', ')}. Open it with the shape it has, or use another table name ` +
          `(or options.ifExists: 'replace' to overwrite it).`,
      );
    }
  }

  /** Groups row numbers by block. */
  private group(rows: ArrayLike<number>): BlockGroup[] {
    const { blockRows } = this.spec;
    const map = new Map<number, BlockGroup>();
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const block = Math.floor(r / blockRows);
      let g = map.get(block);
      if (!g) {
        g = { block, fields: [], at: [] };
        map.set(block, g);
      }
      g.fields.push(String(r - block * blockRows));
      g.at.push(i);
    }
    return [...map.values()];
  }

  /** Field names `"0" .. String(blockRows - 1)`, made once: a read allocates no string per row. */
  private fieldNames(): string[] {
    this.names ??= Array.from({ length: this.spec.blockRows }, (_, i) => String(i));
    return this.names;
  }

  /**
   * The positions `0 .. rows.length - 1` grouped by block (a counting sort, no allocation per
   * row): block `blocks[i]` holds the rows at positions `order[starts[i] .. starts[i + 1])`.
   */
  private plan(rows: ArrayLike<number>): ReadPlan {
    const { blockRows } = this.spec;
    const n = rows.length;
    const slotOf = new Map<number, number>();
    const blocks: number[] = [];
    const slots = new Int32Array(n);
    let counts = new Int32Array(64);
    for (let k = 0; k < n; k++) {
      const block = Math.floor(rows[k]! / blockRows);
      let slot = slotOf.get(block);
      if (slot === undefined) {
        slot = blocks.length;
        slotOf.set(block, slot);
        blocks.push(block);
        if (slot === counts.length) {
          const grown = new Int32Array(counts.length * 2);
          grown.set(counts);
          counts = grown;
        }
      }
      slots[k] = slot;
      counts[slot]!++;
    }
    const starts = new Int32Array(blocks.length + 1);
    for (let i = 0; i < blocks.length; i++) starts[i + 1] = starts[i]! + counts[i]!;
    const fill = starts.slice(0, blocks.length);
    const order = new Int32Array(n);
    for (let k = 0; k < n; k++) order[fill[slots[k]!]!++] = k;
    return { blocks, starts, order };
  }

  /**
   * Reads the given rows (any order, duplicates allowed but fetched as many times) into
   * `out[at[k] * d ..]` (`at` defaults to `k`), all from one version of the table: one `HMGET`
   * per block touched (one `el_gather` for several blocks of one tag group), pipelined per
   * node, each reply's rows copied straight to their place in `out`.
   */
  async readRowsInto(rows: ArrayLike<number>, out: Float32Array, at?: Int32Array): Promise<void> {
    const d = this.spec.outputDim;
    const { blockRows, storage } = this.spec;
    const { blocks, starts, order } = this.plan(rows);
    const names = this.fieldNames();
    // One HMGET for a lone block of its tag group; one el_gather call for several.
    const byTag = new Map<number, number[]>();
    for (let i = 0; i < blocks.length; i++) {
      const tag = blocks[i]! % TAG_GROUPS;
      const list = byTag.get(tag);
      if (list) list.push(i);
      else byTag.set(tag, [i]);
    }
    const calls = [...byTag.values()];
    // float32 rows are copied byte for byte through one view of `out` (no allocation per row).
    const bytesOut = storage === 'float32' ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : null;
    const rb = this.rb;
    /** Puts one stored row (checked to be `rb` bytes) at position `k` of `out`; false when it is missing. */
    const place = (bytes: Buffer | null | undefined, position: number): boolean => {
      if (!bytes || bytes.length !== rb) return false;
      const k = at ? at[position]! : position;
      if (bytesOut) bytesOut.set(bytes, k * rb);
      else decodeRow(bytes, d, storage, out, k * d);
      return true;
    };
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const version = this.version;
      const stale = await this.conn.run(async (link) => {
        const pointer = link.send(this.metaKey, true, ['HGET', this.metaKey, 'version']);
        const replies = calls.map((list): Promise<boolean> => {
          if (list.length === 1) {
            const i = list[0]!;
            const block = blocks[i]!;
            const from = starts[i]!;
            const to = starts[i + 1]!;
            const key = this.blockKey(version, block);
            const args: Arg[] = new Array(2 + to - from);
            args[0] = 'HMGET';
            args[1] = key;
            const base = block * blockRows;
            for (let j = from; j < to; j++) args[2 + j - from] = names[rows[order[j]!]! - base]!;
            return (link.send(key, true, args) as Promise<(Buffer | null)[]>).then((reply) => {
              for (let j = from; j < to; j++) if (!place(reply[j - from], order[j]!)) return true;
              return false;
            });
          }
          let total = 0;
          const counts = Buffer.alloc(list.length * 4);
          for (let k = 0; k < list.length; k++) {
            const n = starts[list[k]! + 1]! - starts[list[k]!]!;
            counts.writeUInt32LE(n, k * 4);
            total += n;
          }
          const fields = Buffer.alloc(total * 4);
          let at = 0;
          for (const i of list) {
            const base = blocks[i]! * blockRows;
            for (let j = starts[i]!; j < starts[i + 1]!; j++) fields.writeUInt32LE(rows[order[j]!]! - base, 4 * at++);
          }
          const keys = list.map((i) => this.blockKey(version, blocks[i]!));
          return this.gather(link, keys, counts, fields).then(
            (reply) => {
              let pos = 0;
              for (const i of list) {
                for (let j = starts[i]!; j < starts[i + 1]!; j++, pos++) {
                  if (!place(reply.subarray(pos * rb, (pos + 1) * rb), order[j]!)) return true;
                }
              }
              return false;
            },
            (error: unknown) => {
              if (/EL_STALE/.test((error as Error).message ?? '')) return true;
              throw error;
            },
          );
        });
        const [now, ...missing] = await Promise.all([pointer, ...replies]);
        const current = now === null || now === undefined ? null : String(now);
        if (current === null) {
          throw new InvalidConfigError(
            `Redis table ${JSON.stringify(this.spec.table)} (${this.metaKey}) no longer exists: it was dropped.`,
          );
        }
        if (current !== version) {
          this.version = current;
          return true;
        }
        return missing.includes(true);
      });
      if (!stale) return;
      const fresh = await this.conn.run((l) => l.send(this.metaKey, true, ['HGET', this.metaKey, 'version']));
      if (fresh !== null && fresh !== undefined) this.version = String(fresh);
    }
    throw new RedisUnavailableError(
      `Redis table ${JSON.stringify(this.spec.table)}: ${READ_ATTEMPTS} reads in a row met a version being replaced; expected the table to stay one version for the length of a read.`,
      [],
    );
  }

  /** Rows [start, start + count) as float32. */
  async readRange(start: number, count: number): Promise<Float32Array> {
    const rows = new Int32Array(count);
    for (let i = 0; i < count; i++) rows[i] = start + i;
    const out = new Float32Array(count * this.spec.outputDim);
    await this.readRowsInto(rows, out);
    return out;
  }

  /** Writes rows from `start` into `version` (default: the live one). */
  async writeRange(start: number, values: Float32Array, version = this.version): Promise<void> {
    const d = this.spec.outputDim;
    const count = d === 0 ? 0 : values.length / d;
    if (d === 0) return;
    const bytes = encodeRows(values, count, d, this.spec.storage);
    const rows = new Int32Array(count);
    for (let i = 0; i < count; i++) rows[i] = start + i;
    await this.conn.run(async (link) => {
      const touched = new Set<string>();
      await Promise.all(
        this.group(rows).map((g) => {
          const key = this.blockKey(version, g.block);
          const args: Arg[] = ['HSET', key];
          for (let j = 0; j < g.fields.length; j++) {
            const i = g.at[j]!;
            args.push(g.fields[j]!, bytes.subarray(i * this.rb, (i + 1) * this.rb));
          }
          touched.add(link.nodeOf(key));
          return link.send(key, false, args);
        }),
      );
      await this.waitForReplicas(link, touched);
    });
  }

  /** Stages a new version; `commit` switches the pointer, `abort` deletes it. */
  async beginReplace(mode: 'create' | 'replace' = 'replace'): Promise<{
    write(start: number, rows: Float32Array): Promise<void>;
    commit(): Promise<void>;
    abort(): Promise<void>;
  }> {
    const next = String(await this.conn.run((l) => l.send(this.metaKey, false, ['HINCRBY', this.metaKey, 'next_version', '1'])));
    if (this.spec.outputDim === 0) {
      // Rows of zero values: one empty field per row so that every block exists.
    }
    let written = 0;
    return {
      write: async (start, rows) => {
        if (this.spec.outputDim === 0) {
          written = Math.max(written, start);
          return;
        }
        await this.writeRange(start, rows, next);
      },
      commit: async () => {
        if (this.spec.outputDim === 0) await this.writeEmptyRows(next);
        const { spec } = this;
        const reply = (await this.callFunction(this.metaKey, [
          'FCALL',
          'el_commit',
          '1',
          this.metaKey,
          mode,
          next,
          String(spec.inputDim),
          String(spec.outputDim),
          spec.storage,
          String(spec.blockRows),
          LAYOUT,
        ]).catch((error: unknown) => {
          const m = (error as Error).message ?? '';
          if (m.includes('EL_SHAPE')) {
            throw new ShapeMismatchError(
              `Redis table ${JSON.stringify(spec.table)}: ${m.replace(/^.*EL_SHAPE /, '')}; this layer expected input_dim=${spec.inputDim} output_dim=${spec.outputDim} storage=${spec.storage} block_rows=${spec.blockRows}.`,
            );
          }
          throw error;
        })) as unknown[];
        const previous = String(reply[0]);
        const current = String(reply[1]);
        this.version = current;
        if (current !== next) await this.deleteVersion(next); // another process created the table first
        if (previous !== '' && previous !== current) await this.deleteVersion(previous);
      },
      abort: async () => {
        await this.deleteVersion(next);
      },
    };
  }

  /** output_dim 0: each row is an empty value (so reads find every row). */
  private async writeEmptyRows(version: string): Promise<void> {
    const { inputDim, blockRows } = this.spec;
    await this.conn.run((link) =>
      Promise.all(
        Array.from({ length: this.blocks }, (_, b) => {
          const key = this.blockKey(version, b);
          const args: Arg[] = ['HSET', key];
          for (let r = b * blockRows; r < Math.min(inputDim, (b + 1) * blockRows); r++) args.push(String(r - b * blockRows), '');
          return link.send(key, false, args);
        }),
      ),
    );
  }

  /** Deletes a version's blocks and optimizer state (`UNLINK`: freed in the background). */
  async deleteVersion(version: string): Promise<void> {
    await this.conn.run((link) =>
      Promise.all(
        Array.from({ length: this.blocks }, (_, b) => {
          const w = this.blockKey(version, b);
          return link.send(w, false, ['UNLINK', w, this.stateKey(version, b)]);
        }),
      ),
    );
  }

  /** Deletes the table: its live version and its metadata. */
  async drop(): Promise<void> {
    const meta = await this.readMeta();
    if (meta?.version) await this.deleteVersion(meta.version);
    await this.conn.run((l) => l.send(this.metaKey, false, ['UNLINK', this.metaKey]));
  }

  /**
   * el_gather of several blocks of one tag group (one slot): their rows, concatenated in order.
   * While the slot migrates (resharding), a multi-key call gets TRYAGAIN: the blocks are then
   * read one HMGET each, which the client redirects (ASK) key by key.
   */
  private async gather(link: Link, keys: string[], counts: Buffer, fields: Buffer): Promise<Buffer> {
    const args: Arg[] = ['FCALL', 'el_gather', String(keys.length), ...keys, String(this.rb), counts, fields];
    try {
      return (await link.send(keys[0]!, true, args)) as Buffer;
    } catch (error) {
      const message = (error as Error).message ?? '';
      if (isMissingFunction(error)) {
        await loadFunctions(link);
        return (await link.send(keys[0]!, true, args)) as Buffer;
      }
      if (!/TRYAGAIN/.test(message)) throw error;
      let at = 0;
      const parts = await Promise.all(
        keys.map((key, k) => {
          const n = counts.readUInt32LE(k * 4);
          const names: string[] = [];
          for (let i = 0; i < n; i++) names.push(String(fields.readUInt32LE(4 * (at + i))));
          at += n;
          return link.send(key, true, ['HMGET', key, ...names]) as Promise<(Buffer | null)[]>;
        }),
      );
      const rows = parts.flat();
      if (rows.some((r) => !r || r.length !== this.rb)) throw new Error('EL_STALE a block of the version is missing');
      return Buffer.concat(rows as Buffer[]);
    }
  }

  /** FCALL on `key`'s node, loading the library first if that node lacks it (a node that joined later). */
  private async callFunction(key: string, args: Arg[]): Promise<unknown> {
    return this.conn.run(async (link) => {
      try {
        return await link.send(key, false, args);
      } catch (error) {
        if (!isMissingFunction(error)) throw error;
        await loadFunctions(link);
        return link.send(key, false, args);
      }
    });
  }

  /**
   * `table[rows[k]] += deltas[k]` on the server, one function call per block (atomic per
   * block), then the write acknowledgement. Rows must be distinct.
   */
  async scatterAdd(rows: Int32Array, deltas: Float32Array): Promise<void> {
    await this.update(rows, deltas, (w) => ['el_add', '1', w, String(this.spec.outputDim)], null);
  }

  /**
   * One optimizer step on the server: the gradients `grads` (rows.length x output_dim) of
   * the distinct `rows`, with the optimizer's state kept beside the rows in Redis, so that
   * processes training the same table share it and lose no update.
   */
  async applyOptimizer(rows: Int32Array, grads: Float32Array, optimizer: ServerOptimizer): Promise<void> {
    const o = resolveServerOptimizer(optimizer);
    const apply = async () => {
      const step = String(await this.conn.run((l) => l.send(this.metaKey, false, ['HINCRBY', this.metaKey, `iterations:${o.kind}`, '1'])));
      const tail = [step, String(o.lr), String(o.a), String(o.b), o.centered ? '1' : '0'];
      await this.update(rows, grads, (w, s) => ['el_step', '2', w, s, o.kind, String(this.spec.outputDim)], tail);
    };
    // SGD and Adagrad do not depend on the step number: their steps commute, lock-free. RMSprop
    // decays a row's velocity by rho for every table step since the row's last update, so its
    // steps must reach every block in the order of their numbers: one step at a time per table.
    if (o.kind === 'rmsprop') await this.withStepLock(apply);
    else await apply();
  }

  /** The lease key that orders RMSprop steps (same slot as the metadata). */
  get lockKey(): string {
    return `${this.spec.prefix}:{${this.spec.table}}:step-lock`;
  }

  /**
   * Runs `op` holding the table's step lease (`SET NX PX`, 4 x timeoutMs): without it, two
   * processes' step numbers (HINCRBY) could reach a block out of order, and a step would decay
   * a row for an earlier step that had not been applied yet (measured: two processes fitting
   * RMSprop ended 7% away from one process applying both streams). The lease is released with
   * DEL only while it cannot have expired (elapsed < lease - 1 s); a process that dies holding
   * it delays the others by at most the lease.
   */
  private async withStepLock(op: () => Promise<void>): Promise<void> {
    const timeoutMs = this.conn.options.timeoutMs;
    const lease = 4 * timeoutMs;
    const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const deadline = Date.now() + lease + timeoutMs;
    let pause = 1;
    let started = Date.now();
    for (;;) {
      started = Date.now();
      const ok = await this.conn.run((l) => l.send(this.lockKey, false, ['SET', this.lockKey, token, 'NX', 'PX', String(lease)]));
      if (ok !== null && ok !== undefined) break;
      if (Date.now() > deadline) {
        throw new RedisUnavailableError(
          `Redis table ${JSON.stringify(this.spec.table)}: the RMSprop step lease ${this.lockKey} stayed taken for ${lease + timeoutMs} ms; expected it free within its lease of ${lease} ms (another process holds it or died holding it).`,
          [(await this.conn.get()).nodeOf(this.lockKey)],
        );
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(2 * pause, 20);
    }
    try {
      await op();
    } finally {
      if (Date.now() - started < lease - 1000) {
        await this.conn.run((l) => l.send(this.lockKey, false, ['DEL', this.lockKey])).catch(() => {});
      }
    }
  }

  private async update(
    rows: Int32Array,
    values: Float32Array,
    head: (w: string, s: string) => string[],
    tail: string[] | null,
  ): Promise<void> {
    const d = this.spec.outputDim;
    if (this.spec.storage !== 'float32') {
      throw new InvalidConfigError(
        `Redis table ${JSON.stringify(this.spec.table)}: training needs float32 storage, this table stores ${this.spec.storage}.`,
      );
    }
    if (rows.length === 0 || d === 0) return;
    let pending = this.group(rows);
    for (let attempt = 0; attempt < READ_ATTEMPTS && pending.length > 0; attempt++) {
      const version = this.version;
      const stale: BlockGroup[] = [];
      await this.conn.run(async (link) => {
        const touched = new Set<string>();
        await Promise.all(
          pending.map(async (g) => {
            const w = this.blockKey(version, g.block);
            const packedRows = Buffer.alloc(g.fields.length * 4);
            const packedValues = Buffer.alloc(g.fields.length * d * 4);
            const f = new Float32Array(packedValues.buffer, packedValues.byteOffset, g.fields.length * d);
            for (let j = 0; j < g.fields.length; j++) {
              packedRows.writeUInt32LE(Number(g.fields[j]), j * 4);
              const i = g.at[j]!;
              f.set(values.subarray(i * d, (i + 1) * d), j * d);
            }
            const args: Arg[] = ['FCALL', ...head(w, this.stateKey(version, g.block)), packedRows, packedValues, ...(tail ?? [])];
            try {
              await this.callFunction(w, args);
              touched.add(link.nodeOf(w));
            } catch (error) {
              if (/EL_STALE/.test((error as Error).message ?? '')) stale.push(g);
              else throw error;
            }
          }),
        );
        await this.waitForReplicas(link, touched);
      });
      pending = stale;
      if (stale.length > 0 && attempt === READ_ATTEMPTS - 1) {
        throw new RedisUnavailableError(
          `Redis table ${JSON.stringify(this.spec.table)}: ${READ_ATTEMPTS} updates in a row met a version being replaced; ${stale.length} block(s) of this step were not updated.`,
          [],
        );
      }
      if (stale.length > 0) {
        const fresh = await this.conn.run((l) => l.send(this.metaKey, true, ['HGET', this.metaKey, 'version']));
        if (fresh === null || fresh === undefined) {
          throw new InvalidConfigError(
            `Redis table ${JSON.stringify(this.spec.table)} (${this.metaKey}) no longer exists: it was dropped.`,
          );
        }
        this.version = String(fresh);
      }
    }
  }

  /** `WAIT n timeout` on each master that took writes: the write acknowledgement. */
  private async waitForReplicas(link: Link, touched: Set<string>): Promise<void> {
    if (touched.size === 0 || link.mode === 'single') return;
    const { waitReplicas, waitTimeoutMs } = this.spec;
    if (waitReplicas === 0) return;
    const masters = await link.masters();
    await Promise.all(
      masters
        .filter((m) => touched.has(m.address))
        .map(async (m) => {
          const want = waitReplicas === 'auto' ? Math.min(1, m.replicas) : waitReplicas;
          if (want === 0) return;
          const acked = Number(await m.send(['WAIT', String(want), String(waitTimeoutMs)]));
          if (acked < want) {
            throw new RedisUnavailableError(
              `Redis master ${m.address}: ${acked} of ${want} replica(s) acknowledged the write within ${waitTimeoutMs} ms. The write is on the master and may be lost if it fails before replicating.`,
              [m.address],
            );
          }
        }),
    );
  }
}

/** Keras 3 defaults of the server optimizers. @internal */
export function resolveServerOptimizer(o: ServerOptimizer): { kind: string; lr: number; a: number; b: number; centered: boolean } {
  const num = (v: unknown, fallback: number, name: string): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new InvalidConfigError(`optimizer.${name} must be a finite number >= 0, received ${String(v)}.`);
    }
    return v;
  };
  switch (o?.kind) {
    case 'sgd':
      return { kind: 'sgd', lr: num(o.learning_rate, 0.01, 'learning_rate'), a: 0, b: 0, centered: false };
    case 'adagrad':
      return {
        kind: 'adagrad',
        lr: num(o.learning_rate, 0.001, 'learning_rate'),
        a: num(o.initial_accumulator_value, 0.1, 'initial_accumulator_value'),
        b: num(o.epsilon, 1e-7, 'epsilon'),
        centered: false,
      };
    case 'rmsprop':
      return {
        kind: 'rmsprop',
        lr: num(o.learning_rate, 0.001, 'learning_rate'),
        a: num(o.rho, 0.9, 'rho'),
        b: num(o.epsilon, 1e-7, 'epsilon'),
        centered: o.centered === true,
      };
    default:
      throw new InvalidConfigError(
        `optimizer.kind must be one of "sgd", "adagrad", "rmsprop" (the optimizers that run on the server), received ${JSON.stringify((o as { kind?: unknown })?.kind)}.`,
      );
  }
}
