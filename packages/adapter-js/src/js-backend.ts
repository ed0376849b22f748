import type { EmbeddingBackendV1, ResolvedEmbeddingConfig } from '@embedding-layer/core';
import { MAX_ARRAY_LENGTH, ShardedTable } from './sharded-table.js';
import type { Storage } from './storage.js';
import { MAX_WASM_BYTES, WasmTable } from './wasm-table.js';
import { workerPool, workersAvailable } from './workers.js';

/** Options of {@link createJsBackend}. */
export interface JsBackendOptions {
  /**
   * `'auto'` (default): the WebAssembly kernel when it is available and the table fits in one
   * wasm32 memory (4 GiB), else plain JS. `'wasm'`: the kernel or an error. `'js'`: plain JS.
   */
  kernel?: 'auto' | 'wasm' | 'js';
  /**
   * How values are stored: `'float32'` (default; lookups bit-exact), `'float16'` or `'int8'`
   * (Keras 3's per-row abs-max quantization). float16 and int8 tables use the JS path.
   */
  storage?: Storage;
  /**
   * Holds the table as row shards of at most this many bytes each, in plain JS. Default: one
   * shard unless the table exceeds one wasm memory (then shards of 1 GiB). Small values
   * exercise the sharded path in tests.
   */
  shardBytes?: number;
  /**
   * Worker threads (Node's `worker_threads`) that share large lookups with the calling
   * thread, over a shared WebAssembly memory. Default 0: everything on the calling thread
   * (on a busy 2-core machine the split measured slower; `availableCores() - 1` is the
   * value to try on an idle multi-core one).
   */
  workers?: number;
  /** Output bytes from which a lookup is split across the workers. Default 32 MiB. */
  workerThreshold?: number;
}

/** What {@link jsTableOf} returns: a shard-aware view of a layer's table on this backend. */
export interface JsTableAccessor {
  /** Which code path holds the table: the wasm kernel (with or without workers), one JS array, or JS row shards. */
  readonly path: 'wasm' | 'wasm+workers' | 'js' | 'sharded';
  readonly storage: Storage;
  readonly rows: number;
  readonly outputDim: number;
  /** Number of row shards (1 unless sharded). */
  readonly shardCount: number;
  /** Rows per shard. */
  readonly shardRows: number;
  /** Rows [start, start + count) as row-major float32 (dequantized), into `out` when given. */
  readRows(start: number, count: number, out?: Float32Array): Float32Array;
  /** Overwrites rows from `start` with row-major float32 `values` (quantized again for float16/int8 storage). */
  writeRows(start: number, values: Float32Array): void;
}

/** Default bytes per shard when a table needs sharding. */
const DEFAULT_SHARD_BYTES = 2 ** 30;

const tables = new WeakMap<ResolvedEmbeddingConfig, WasmTable | ShardedTable>();

function positiveInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`createJsBackend: ${name} must be an integer >= ${min}, received ${String(value)}.`);
  }
  return value;
}

/**
 * The plain JavaScript backend. The table lives in WebAssembly memory and a small kernel
 * (built from wasm/kernel.wat) gathers the rows in place; where WebAssembly is unavailable,
 * or for sharded and float16/int8 tables, plain JS copies one row per index. Outputs of
 * float32 tables are bit-identical on every path. No dependencies; Node and browsers.
 *
 * @example
 * ```ts
 * const layer = await Embedding.create({ inputDim: 1000, outputDim: 64 }, { backend: createJsBackend() });
 * ```
 */
export function createJsBackend(options: JsBackendOptions = {}): EmbeddingBackendV1 {
  const kernel = options.kernel ?? 'auto';
  if (kernel !== 'auto' && kernel !== 'wasm' && kernel !== 'js') {
    throw new RangeError(`createJsBackend: kernel must be 'auto', 'wasm' or 'js', received ${String(kernel)}.`);
  }
  const storage = options.storage ?? 'float32';
  if (storage !== 'float32' && storage !== 'float16' && storage !== 'int8') {
    throw new RangeError(`createJsBackend: storage must be 'float32', 'float16' or 'int8', received ${String(storage)}.`);
  }
  const shardBytes = options.shardBytes === undefined ? undefined : positiveInteger('shardBytes', options.shardBytes, 1);
  const canThread = workersAvailable();
  const workers = options.workers === undefined ? 0 : positiveInteger('workers', options.workers, 0);
  if (workers > 0 && !canThread) {
    throw new RangeError('createJsBackend: workers need Node worker_threads and SharedArrayBuffer; pass workers: 0 here.');
  }
  const workerThreshold =
    options.workerThreshold === undefined ? 32 * 2 ** 20 : positiveInteger('workerThreshold', options.workerThreshold, 0);
  if (kernel === 'wasm' && (storage !== 'float32' || shardBytes !== undefined)) {
    throw new RangeError(
      "createJsBackend: kernel 'wasm' holds float32 tables in one memory; it excludes storage float16/int8 and shardBytes.",
    );
  }
  const parallel = workers > 0 ? workerPool(workers) : null;
  return {
    specificationVersion: 'v1',
    name: 'js',
    supports: { training: true, lookupInto: true, dtypes: ['float32'], maxTableBytes: MAX_ARRAY_LENGTH * 4 },
    doCreateTable(config, weights) {
      let table: WasmTable | ShardedTable | null = null;
      const bytes = config.inputDim * config.outputDim * 4;
      if (kernel !== 'js' && storage === 'float32' && shardBytes === undefined) {
        table = WasmTable.create(config, weights, { parallel, workerThreshold });
        if (table === null && kernel === 'wasm') {
          throw new RangeError(
            `createJsBackend({ kernel: 'wasm' }): ${bytes > MAX_WASM_BYTES - 2 ** 24 ? `a table of ${bytes} bytes does not fit in one wasm32 memory` : 'WebAssembly (bulk memory, SIMD) is unavailable here'}.`,
          );
        }
      }
      table ??= new ShardedTable(
        config,
        weights,
        storage,
        shardBytes ?? (bytes > DEFAULT_SHARD_BYTES ? DEFAULT_SHARD_BYTES : Math.max(bytes, 1)),
      );
      tables.set(config, table);
      return table;
    },
  };
}

/**
 * The shard-aware accessor of a layer created on this backend (`jsTableOf(layer)`), or
 * null for a layer of another backend. Reads and writes rows without one Float32Array of the
 * whole table, which core's `getWeights` needs (and which cannot exceed 2^32 - 1 floats).
 */
export function jsTableOf(layer: { readonly config: ResolvedEmbeddingConfig }): JsTableAccessor | null {
  const table = tables.get(layer.config);
  if (!table) return null;
  if (table instanceof WasmTable) {
    return {
      path: table.parallelWorkers > 0 ? 'wasm+workers' : 'wasm',
      storage: 'float32',
      rows: table.rows,
      outputDim: table.outputDim,
      shardCount: 1,
      shardRows: table.rows,
      readRows: (start, count, out) => {
        const d = table.outputDim;
        const rows = table.doGetWeights().subarray(start * d, (start + count) * d);
        if (!out) return rows.slice();
        out.set(rows);
        return out;
      },
      writeRows: (start, values) => table.doGetWeights().set(values, start * table.outputDim),
    };
  }
  return {
    path: table.shardCount > 1 ? 'sharded' : 'js',
    storage: table.storage,
    rows: table.rows,
    outputDim: table.outputDim,
    shardCount: table.shardCount,
    shardRows: table.shardRows,
    readRows: (start, count, out) => table.readRows(start, count, out),
    writeRows: (start, values) => table.writeRows(start, values),
  };
}
