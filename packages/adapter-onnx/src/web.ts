import {
  type EmbeddingBackendV2,
  type EmbeddingTableV2,
  type IndexTensor,
  InvalidConfigError,
  LimitExceededError,
} from '@embedding-layer/core';
import { checkBackendOptions, defineBackend, lazyPeer, STORAGE } from '@embedding-layer/core/backend';
import type { OnnxIndexType, OnnxStorage } from '@embedding-layer/onnx-model';
import type * as OrtWeb from 'onnxruntime-web';
import { createOnnxBackend, type OnnxNative, ORT_NATIVE } from './onnx-backend.js';

export type { OnnxIndexType, OnnxStorage } from '@embedding-layer/onnx-model';
export type { OnnxNative, OrtLookupResult } from './onnx-backend.js';

/**
 * The parts of the `onnxruntime-web` module this package uses (`InferenceSession` and
 * `Tensor`). Pass the module itself: `import * as ort from 'onnxruntime-web'`.
 */
export type OnnxWebRuntime = Pick<typeof OrtWeb, 'InferenceSession' | 'Tensor'>;

/** The `runtime` option: the module, or a function that loads it (e.g. `() => import('onnxruntime-web')`). */
export type OnnxWebRuntimeSource = OnnxWebRuntime | (() => Promise<OnnxWebRuntime>);

/** Execution providers as onnxruntime-web takes them (`'wasm'`, `'webgpu'`, or `{ name: 'wasm', ... }`). */
export type OnnxWebExecutionProviders = NonNullable<OrtWeb.InferenceSession.SessionOptions['executionProviders']>;

/** Options of {@link createOnnxWebBackend}. */
export interface OnnxWebBackendOptions {
  /**
   * The onnxruntime-web module, or a function that loads it. Default: `import('onnxruntime-web')`
   * when the first layer is created (a missing peer then rejects with `MissingPeerError`).
   * Configure the runtime through its own `ort.env` (e.g. `ort.env.wasm.numThreads`,
   * `ort.env.wasm.wasmPaths`) before the first layer is created.
   */
  runtime?: OnnxWebRuntimeSource;
  /** Execution providers of each layer's session. Default `['wasm']`, the one this package is tested on. */
  executionProviders?: OnnxWebExecutionProviders;
  /**
   * Element type of the indices fed to the session. Default `'int32'`; `'int64'` feeds a
   * `BigInt64Array`. Also the index type of `layer.export('onnx')`.
   */
  indexType?: OnnxIndexType;
  /** Table storage, as `createOnnxBackend`'s: `'float32'` (default), `'float16'` or `'int8'`. */
  storage?: OnnxStorage;
}

const PEER = 'onnxruntime-web';

function pickRuntime(module: unknown): OnnxWebRuntime | null {
  for (const m of [module, (module as { default?: unknown } | null)?.default]) {
    const r = m as { InferenceSession?: { create?: unknown }; Tensor?: unknown } | null | undefined;
    if ((typeof r === 'object' || typeof r === 'function') && r !== null && typeof r.InferenceSession?.create === 'function') {
      if (typeof r.Tensor === 'function') return r as OnnxWebRuntime;
    }
  }
  return null;
}

/** Whether an execution provider list names ONNX Runtime Web's `webgpu` EP (`'webgpu'` or `{ name: 'webgpu', ... }`). */
function namesWebgpu(executionProviders: OnnxWebExecutionProviders): boolean {
  return executionProviders.some((ep) => (typeof ep === 'string' ? ep : (ep as { name?: unknown }).name) === 'webgpu');
}

/** What this package reads of the GPU device onnxruntime-web's webgpu EP runs on. */
interface WebgpuDeviceInfo {
  features: ReadonlySet<string>;
  /** The largest buffer one binding may take: min(maxStorageBufferBindingSize, maxBufferSize). */
  bindingLimit: number;
}

/** The GPU device onnxruntime-web's webgpu EP runs on (`ort.env.webgpu.device`), or null when the runtime has none to show. */
async function webgpuDevice(runtime: unknown): Promise<WebgpuDeviceInfo | null> {
  try {
    const env = (runtime as { env?: { webgpu?: { device?: unknown } } }).env;
    const device = (await env?.webgpu?.device) as
      | { features?: ReadonlySet<string>; limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } }
      | undefined;
    if (typeof device?.features?.has !== 'function') return null;
    const binding = device.limits?.maxStorageBufferBindingSize ?? Number.POSITIVE_INFINITY;
    return { features: device.features, bindingLimit: Math.min(binding, device.limits?.maxBufferSize ?? Number.POSITIVE_INFINITY) };
  } catch {
    return null;
  }
}

/**
 * The table with its lookups checked against one GPU binding: onnxruntime-web's webgpu EP puts
 * each tensor in one buffer, and an output larger than the device's binding limit comes back as
 * zeros. A lookup whose output would not fit rejects with LimitExceededError first.
 */
function withOutputLimit(table: EmbeddingTableV2<OnnxNative>, outputDim: number, limit: number): EmbeddingTableV2<OnnxNative> {
  const check = (count: number): void => {
    const bytes = count * outputDim * 4;
    if (bytes > limit) {
      throw new LimitExceededError(
        'lookup output',
        bytes,
        limit,
        'onnx-web',
        "one buffer of onnxruntime-web's webgpu execution provider, the device's maxStorageBufferBindingSize; it would return zeros past it",
      );
    }
  };
  return new Proxy(table, {
    get(target, property) {
      if (property === 'doLookup') {
        return async (indices: IndexTensor, into?: Float32Array) => {
          check(indices.data.length);
          return target.doLookup(indices, into);
        };
      }
      if (property === 'doLookupNative' && target.doLookupNative) {
        const native = target.doLookupNative;
        return async (indices: OnnxNative['input'], checked: IndexTensor) => {
          check(checked.data.length);
          return native.call(target, indices, checked);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The ONNX Runtime backend for browsers, on `onnxruntime-web` (WebAssembly by default): the
 * same backend as `createOnnxBackend` (the same `Gather` graph, one `InferenceSession` per
 * layer, the table fed as a graph input, exports `'onnx'`, inference only), with the web
 * runtime instead of onnxruntime-node. Outputs are bitwise equal to core's reference.
 *
 * onnxruntime-web is an optional peer dependency, loaded when the first layer is created (or
 * passed as `runtime`). Its `.wasm` file is fetched by onnxruntime-web itself: bundlers such as
 * vite serve it from `node_modules`; set `ort.env.wasm.wasmPaths` to serve it elsewhere.
 * Multi-threaded wasm needs a cross-origin isolated page; set `ort.env.wasm.numThreads = 1`
 * otherwise (a lookup is a row copy, one thread is enough).
 *
 * @example
 * ```ts
 * import { Embedding } from '@embedding-layer/core';
 * import { createOnnxWebBackend } from '@embedding-layer/adapter-onnx/web';
 * import * as ort from 'onnxruntime-web';
 *
 * ort.env.wasm.numThreads = 1;
 * const layer = await Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10 }, { backend: createOnnxWebBackend({ runtime: ort }) });
 * const out = await layer.predict(indices); // { data: Float32Array, shape: [32, 10, 64] }
 * ```
 * On the `webgpu` execution provider (`executionProviders: ['webgpu']`), float32 and int8
 * storage give the same results as on wasm (float32 bit for bit). float16 storage needs a GPU
 * device with the `shader-f16` feature: without it onnxruntime-web 1.30's webgpu EP (the
 * default `onnxruntime-web` import) compiles invalid f16 shaders and silently returns zeros,
 * so layer creation rejects with InvalidConfigError instead (SwiftShader, for one, has no
 * `shader-f16`). The webgpu EP also holds each tensor in one GPU buffer and returns zeros for
 * one larger than the device's `maxStorageBufferBindingSize` (128 MiB on many GPUs): a larger
 * table rejects with LimitExceededError at layer creation, a larger lookup output at the lookup.
 *
 * @throws InvalidConfigError for a bad option (at once); layer creation rejects with
 *   MissingPeerError when onnxruntime-web cannot be loaded, and with InvalidConfigError when
 *   `runtime` is not the onnxruntime-web module, or for float16 storage on a webgpu device
 *   without `shader-f16`; with LimitExceededError for a table over the webgpu device's binding limit.
 */
export function createOnnxWebBackend(options: OnnxWebBackendOptions = {}): EmbeddingBackendV2<OnnxNative> {
  checkBackendOptions<OnnxWebBackendOptions>('createOnnxWebBackend', options, {
    runtime: { kind: 'any' },
    executionProviders: { kind: 'array', minLength: 1 },
    indexType: { kind: 'oneOf', values: ['int32', 'int64'] },
    storage: { kind: 'oneOf', values: ['float32', 'float16', 'int8'] },
  });
  const { runtime: source, executionProviders = ['wasm'], indexType = 'int32', storage = 'float32' } = options;
  // Threads come from ort.env.wasm.numThreads on the web, so no intra-op option is passed (0).
  const settings = { executionProviders, indexType, intraOpNumThreads: 0, storage } as const;
  // Validates the options now; its `supports` is this backend's.
  const shape = createOnnxBackend(settings);
  const runtime = lazyPeer<OnnxWebRuntime>(PEER, {
    load: () => import('onnxruntime-web'),
    pick: pickRuntime,
    ...(source !== undefined ? { source } : {}),
  });
  let inner: EmbeddingBackendV2<OnnxNative> | null = null;
  return defineBackend<OnnxNative>({
    name: 'onnx-web',
    // onnxruntime-web copies an output out of its wasm heap: it does not write into a caller's preallocated buffer.
    supports: { ...shape.supports, lookupInto: false },
    native: ORT_NATIVE,
    async doCreateTable(config, initial) {
      // onnxruntime-web and onnxruntime-node share one API (onnxruntime-common).
      const ort = await runtime();
      inner ??= createOnnxBackend({ ...settings, runtime: ort as never });
      const table = await inner.doCreateTable(config, initial);
      if (!namesWebgpu(executionProviders)) return table;
      // The session has started the webgpu EP's device. Two things it gets wrong without a word
      // (zeros for every row) are refused here: f16 shaders without shader-f16, and a tensor
      // larger than one binding.
      const device = await webgpuDevice(ort);
      if (device === null) return table;
      if (storage === 'float16' && !device.features.has('shader-f16')) {
        await table.doDispose?.();
        throw new InvalidConfigError(
          `createOnnxWebBackend: options.storage 'float16' with the webgpu execution provider needs a GPU device with the 'shader-f16' feature, and this device has none (its features: ${
            [...device.features].sort().join(', ') || 'none'
          }). ONNX Runtime Web's webgpu EP would compile invalid f16 shaders and return zeros. On this device use storage 'float32' or 'int8', or executionProviders ['wasm'].`,
        );
      }
      // The values the session is fed (an int8 table's row scales are a smaller second input).
      const tableBytes = Math.ceil(config.inputDim * config.outputDim * STORAGE[storage].bytesPerValue);
      if (tableBytes > device.bindingLimit) {
        await table.doDispose?.();
        throw new LimitExceededError(
          'table',
          tableBytes,
          device.bindingLimit,
          'onnx-web',
          `on the webgpu execution provider the table is one GPU buffer, and this device binds at most maxStorageBufferBindingSize ${device.bindingLimit} bytes; onnxruntime-web would return zeros for every row. Use @embedding-layer/adapter-webgpu (it splits the table by rows), set ort.env.webgpu.device to a device requested with a higher maxStorageBufferBindingSize, or use executionProviders ['wasm']`,
        );
      }
      return withOutputLimit(table, config.outputDim, device.bindingLimit);
    },
  });
}
