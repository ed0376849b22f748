import type { EmbeddingBackendV2, EmbeddingTableV2 } from '@embedding-layer/core';
import { InvalidConfigError } from '@embedding-layer/core';
import {
  checkBackendOptions,
  defineBackend,
  MAX_ARRAY_LENGTH,
  optionError,
  raiseMallocThresholds,
  STORAGE,
} from '@embedding-layer/core/backend';
import { ShardedTable } from './sharded-table.js';
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
   * How values are stored: `'float32'` (default; lookups bit-exact), `'float16'`, `'int8'` or
   * `'int4'` (Keras 3's per-row abs-max quantizations; int4 packs two values per byte as
   * Keras 3's `pack_int4`), with core's codec and its documented bounds (`supports.storage`).
   * float16, int8 and int4 tables use the JS path.
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
  /**
   * Raise glibc malloc's dynamic thresholds once per process when a table is created (core's
   * `raiseMallocThresholds`: one untouched 32 MiB ArrayBuffer allocated and dropped), so that
   * the pages of freed fresh outputs stay with the process instead of being returned to the
   * kernel and faulted in again on the next lookup (at 8 MiB outputs about 1,100 page faults per
   * call otherwise). Linux only; no resident memory. Default true.
   */
  raiseMallocThresholds?: boolean;
}

/** Default bytes per shard when a table needs sharding. */
const DEFAULT_SHARD_BYTES = 2 ** 30;
const FACTORY = 'createJsBackend';

/**
 * The plain JavaScript backend (spec v2). The table lives in WebAssembly memory and a small
 * kernel (built from wasm/kernel.wat) gathers the rows in place; where WebAssembly is
 * unavailable, or for sharded and float16/int8/int4 tables, plain JS copies one row per index.
 * Outputs of float32 tables are bit-identical on every path. Tables are filled and read in row
 * ranges (`layer.readRows` / `layer.writeRows`), so a table never needs a second whole copy.
 * No dependencies; Node and browsers. Bad options throw `InvalidConfigError`.
 *
 * `layer.describe()` tells which path holds a layer's table (`path`: `'wasm'`,
 * `'wasm+workers'`, `'js'` or `'sharded'`), its shards and its bytes.
 *
 * @example
 * ```ts
 * const layer = await Embedding.create({ inputDim: 1000, outputDim: 64 }, { backend: createJsBackend() });
 * ```
 */
export function createJsBackend(options: JsBackendOptions = {}): EmbeddingBackendV2 {
  const checked = checkBackendOptions<JsBackendOptions>(FACTORY, options, {
    kernel: { kind: 'oneOf', values: ['auto', 'wasm', 'js'] },
    storage: { kind: 'oneOf', values: ['float32', 'float16', 'int8', 'int4'] },
    shardBytes: { kind: 'integer', min: 1 },
    workers: { kind: 'integer', min: 0 },
    workerThreshold: { kind: 'integer', min: 0 },
    raiseMallocThresholds: { kind: 'boolean' },
  });
  const kernel = checked.kernel ?? 'auto';
  const storage = checked.storage ?? 'float32';
  const shardBytes = checked.shardBytes;
  const workers = checked.workers ?? 0;
  if (workers > 0 && !workersAvailable()) {
    throw optionError(FACTORY, 'workers', workers, '0 here (workers need Node worker_threads and SharedArrayBuffer)');
  }
  const workerThreshold = checked.workerThreshold ?? 32 * 2 ** 20;
  if (kernel === 'wasm' && (storage !== 'float32' || shardBytes !== undefined)) {
    throw new InvalidConfigError(
      `${FACTORY}: options.kernel 'wasm' holds float32 tables in one memory; it excludes storage ${JSON.stringify(storage)} and shardBytes.`,
    );
  }
  const parallel = workers > 0 ? workerPool(workers) : null;
  return defineBackend({
    name: 'js',
    supports: {
      training: true,
      lookupInto: true,
      storage: STORAGE[storage],
      maxTableBytes: MAX_ARRAY_LENGTH * 4,
      maxOutputBytes: MAX_ARRAY_LENGTH * 4,
    },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2> {
      // Fresh outputs are new Float32Arrays (see raiseMallocThresholds).
      if (checked.raiseMallocThresholds !== false) raiseMallocThresholds();
      const bytes = config.inputDim * config.outputDim * 4;
      if (kernel !== 'js' && storage === 'float32' && shardBytes === undefined) {
        const table = await WasmTable.create(config, initial, { parallel, workerThreshold });
        if (table !== null) return table;
        if (kernel === 'wasm') {
          throw new InvalidConfigError(
            `${FACTORY}({ kernel: 'wasm' }): ${bytes > MAX_WASM_BYTES - 2 ** 24 ? `a table of ${bytes} bytes does not fit in one wasm32 memory` : 'WebAssembly (bulk memory, SIMD) is unavailable here'}; use kernel 'auto' or 'js'.`,
          );
        }
      }
      return ShardedTable.create(
        config,
        initial,
        storage,
        shardBytes ?? (bytes > DEFAULT_SHARD_BYTES ? DEFAULT_SHARD_BYTES : Math.max(bytes, 1)),
      );
    },
  });
}
