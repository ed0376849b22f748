import { type EmbeddingBackendV2, InvalidConfigError, type NativeIndexView, type NativeTensorsV2 } from '@embedding-layer/core';
import { checkBackendOptions, defineBackend, MAX_ARRAY_LENGTH, raiseMallocThresholds, STORAGE } from '@embedding-layer/core/backend';
import type * as tfjs from '@tensorflow/tfjs';
import { quietTfjsBanner } from './banner.js';
import { registerGatherKernel } from './fast-gather.js';
import { loadTfjs, loadWasmBackend, loadWebgpuBackend, type TfjsRuntime } from './runtime.js';
import { type TfjsNative, TfjsTable } from './tfjs-table.js';

/** TF.js backend names this package knows; any other name registered with TF.js works too. */
export type TfjsBackendName = 'cpu' | 'wasm' | 'webgl' | 'webgpu' | (string & {});

/** Options of {@link createTfjsBackend}. */
export interface TfjsBackendOptions {
  /**
   * The TF.js backend to run on: `'cpu'`, `'wasm'` (needs `@tensorflow/tfjs-backend-wasm`),
   * `'webgl'`, `'webgpu'` (needs `@tensorflow/tfjs-backend-webgpu` and a browser with
   * `navigator.gpu`), ... Default: the one TF.js is already using (or picks by itself).
   * TF.js has one active backend per process: this factory makes it the active one.
   */
  backend?: TfjsBackendName;
  /** The `@tensorflow/tfjs` module to use instead of importing the installed peer (`import * as tf from '@tensorflow/tfjs'`). */
  runtime?: TfjsRuntime;
  /** For `backend: 'wasm'`: passed to `setWasmPaths` of `@tensorflow/tfjs-backend-wasm` (default: its files in node_modules). */
  wasmPaths?: string | Record<string, string>;
  /** Keep TF.js's "install tfjs-node" banner off the console ({@link quietTfjsBanner}). Default true. */
  quiet?: boolean;
  /**
   * On TF.js's `cpu` and `wasm` backends, look rows up with this package's row copy over the
   * variable's values (cpu: its backing Float32Array; wasm: its bytes in the wasm heap) instead
   * of TF.js's gather kernel (same bits; 20x+ faster on cpu, 30x on wasm), and write
   * `predict(x, { out })` straight into the caller's buffer. No effect on other backends, which
   * always use `tf.gather`. Default true; `false` forces `tf.gather` everywhere.
   */
  fastPath?: boolean;
  /**
   * Raise glibc malloc's dynamic thresholds once per process when a table is created (core's
   * `raiseMallocThresholds`: one untouched 32 MiB ArrayBuffer allocated and dropped), so that
   * the pages of freed fresh outputs stay with the process instead of being returned to the
   * kernel and faulted in again on the next lookup (at 8 MiB outputs about 1,100 page faults per
   * call otherwise). Linux only; no resident memory. Default true.
   */
  raiseMallocThresholds?: boolean;
}

/** Largest table per TF.js backend, in bytes: one Float32Array (2^32 bytes in Node 20) on cpu; the 32-bit wasm heap on wasm. */
const MAX_TABLE_BYTES: Readonly<Record<string, number>> = { cpu: 2 ** 32, wasm: 2 ** 31 };

/**
 * Largest lookup output per TF.js backend, in bytes: one Float32Array on cpu; on wasm the
 * output must fit in the 32-bit heap beside the table (asking for more leaves TF.js's wasm
 * backend out of memory for every layer of the process), so 1 GiB.
 */
const MAX_OUTPUT_BYTES: Readonly<Record<string, number>> = { cpu: MAX_ARRAY_LENGTH * 4, wasm: 2 ** 30 };

/**
 * On TF.js's `webgpu` backend every tensor is one GPU buffer bound whole to a kernel: the table
 * (and an output) can be no larger than the device's `maxStorageBufferBindingSize` (TF.js asks
 * for the adapter's own limit) nor its `maxBufferSize`. Past that WebGPU refuses the binding
 * and TF.js's kernel writes nothing, so core refuses such a table first. Undefined off webgpu.
 */
function webgpuBindingLimit(tf: TfjsRuntime): number | undefined {
  const backend = tf.backend() as { device?: { limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } } };
  const limits = backend.device?.limits;
  if (!limits?.maxStorageBufferBindingSize) return undefined;
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize ?? Number.POSITIVE_INFINITY);
}

/** The name of TF.js's tensor type in messages, and the `native.kind` of TF.js backends. */
export const TFJS_TENSOR_KIND = 'tf.Tensor';

/** Reads a `tf.Tensor` for core's validation (its values synchronously: on WebGL this waits for the GPU), or null for anything else. */
function readTensor(value: unknown): NativeIndexView | null {
  const t = value as Partial<tfjs.Tensor> | null;
  if (typeof t !== 'object' || t === null || typeof t.dataSync !== 'function' || !Array.isArray(t.shape) || typeof t.dtype !== 'string')
    return null;
  if (t.isDisposed) return { dtype: t.dtype, shape: t.shape, data: null };
  return { dtype: t.dtype, shape: t.shape, data: t.dataSync() };
}

/** @internal TF.js's tensors as core reads them (`native` of every TF.js backend). */
export const TFJS_NATIVE: NativeTensorsV2 = Object.freeze({ kind: TFJS_TENSOR_KIND, read: readTensor });

/**
 * The TensorFlow.js backend (spec v2): each layer's table is one `tf.Variable`, a lookup is
 * `tf.gather` on it, training steps (`applyGradients`) update rows in place with
 * `tf.tensorScatterUpdate`. Initial weights come from core's seeded initializer, so one seed
 * gives the same bits here as on every other backend. Indices are validated by core before
 * any TF.js kernel runs: out-of-range and negative indices raise `InvalidIndexError` on every
 * TF.js backend, including WebGL, whose gather would return zeros.
 *
 * Async because it loads the peer and waits for TF.js's backend to initialize
 * (`tf.setBackend`, `tf.ready`). Rejects with `MissingPeerError` when `@tensorflow/tfjs` (or,
 * for `'wasm'`, `@tensorflow/tfjs-backend-wasm`; for `'webgpu'`, `@tensorflow/tfjs-backend-webgpu`)
 * is not installed, and with
 * `InvalidConfigError` when the named backend is not registered or fails to start.
 *
 * @example
 * ```ts
 * const backend = await createTfjsBackend({ backend: 'wasm' });
 * const layer = await Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10, seed: 42 }, { backend });
 * ```
 */
export async function createTfjsBackend(options: TfjsBackendOptions = {}): Promise<EmbeddingBackendV2<TfjsNative>> {
  checkBackendOptions<TfjsBackendOptions>('createTfjsBackend', options, {
    backend: { kind: 'string' },
    runtime: { kind: 'any' },
    wasmPaths: { kind: 'any' },
    quiet: { kind: 'boolean' },
    fastPath: { kind: 'boolean' },
    raiseMallocThresholds: { kind: 'boolean' },
  });
  const tf = await loadTfjs(options.runtime);
  const wanted = options.backend;
  if (wanted === 'wasm') await loadWasmBackend(tf, options.wasmPaths);
  if (wanted === 'webgpu') await loadWebgpuBackend(tf);
  // engine().backendName, unlike getBackend(), does not start TF.js's default backend just to compare names.
  if (wanted !== undefined && wanted !== tf.engine().backendName) {
    if (!tf.findBackendFactory(wanted)) {
      const registered = Object.keys(tf.engine().registryFactory).join(', ');
      throw new InvalidConfigError(`options.backend: TF.js has no backend named ${JSON.stringify(wanted)}; registered: ${registered}.`);
    }
    const ok = await tf.setBackend(wanted);
    if (!ok) throw new InvalidConfigError(`options.backend: the TF.js backend ${JSON.stringify(wanted)} failed to initialize.`);
  }
  await tf.ready();
  const name = tf.getBackend();
  if (name === 'cpu' && options.quiet !== false) quietTfjsBanner(tf);
  const fastPath = options.fastPath !== false;
  if (fastPath) registerGatherKernel(tf);
  // The fast path writes into the caller's buffer; tf.gather would need one more copy.
  const lookupInto = fastPath && (name === 'cpu' || name === 'wasm');
  const bindingLimit = name === 'webgpu' ? webgpuBindingLimit(tf) : undefined;
  const maxTableBytes = bindingLimit ?? MAX_TABLE_BYTES[name];
  const maxOutputBytes = bindingLimit ?? MAX_OUTPUT_BYTES[name];
  return defineBackend<TfjsNative>({
    name: `tfjs-${name}`,
    supports: {
      training: true,
      lookupInto,
      storage: STORAGE.float32,
      ...(maxTableBytes !== undefined ? { maxTableBytes } : {}),
      ...(maxOutputBytes !== undefined ? { maxOutputBytes } : {}),
    },
    native: TFJS_NATIVE,
    async doCreateTable(config, initial) {
      // Fresh outputs of the fast path are new Float32Arrays (see raiseMallocThresholds).
      if (lookupInto && options.raiseMallocThresholds !== false) raiseMallocThresholds();
      return TfjsTable.create(tf, config, initial, fastPath, `tfjs-${name}`);
    },
  });
}
