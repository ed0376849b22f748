import type { EmbeddingBackendV2, EmbeddingTableV2 } from '@embedding-layer/core';
import { LimitExceededError, UnsupportedFeatureError } from '@embedding-layer/core';
import { checkBackendOptions, defineBackend, MAX_ARRAY_LENGTH, optionError, STORAGE } from '@embedding-layer/core/backend';
import { GpuDevice } from './gpu-device.js';
import { GpuTable } from './gpu-table.js';
import { tableLayout, type WebGpuStorage } from './layout.js';
import { WEBGPU_NATIVE, type WebGpuNativeTypes } from './native.js';

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /**
   * The device to keep tables on, e.g. the one your next WebGPU stage runs on (a
   * `lookupNative` output buffer is only usable on its own device). Default: a device
   * requested from `adapter` with default limits.
   */
  device?: GPUDevice;
  /** The adapter to request a device from when `device` is not given. Default: `navigator.gpu.requestAdapter()`. */
  adapter?: GPUAdapter;
  /**
   * How values are stored: `'float32'` (default; lookups bit-exact), `'float16'` or `'int8'`
   * (Keras 3's per-row abs-max quantization), encoded with core's codec and decoded in the
   * shader, within the bounds of `supports.storage`.
   */
  storage?: WebGpuStorage;
  /**
   * Largest buffer (one binding) of a table, in bytes. Default and maximum: the device's
   * `maxStorageBufferBindingSize` (and `maxBufferSize`); a table is split by rows into buffers
   * no larger, one row at least. Small values force many splits (tests).
   */
  maxBindingBytes?: number;
}

const FACTORY = 'createWebGpuBackend';

/**
 * The optimizers a float32 table applies on the GPU (`doApplyOptimizer`), in f32. Error per
 * step against core's (float64 arithmetic, float32 state), relative to `1 + |w|`: the gradient
 * and learning rate rounded to f32 (2^-24 each), the product and the sum rounded (2^-24
 * each), and for Adagrad the accumulator's f32 square and WGSL's `sqrt` and division (up to
 * 2.5 ULP each by the WGSL spec): within 2^-21 (SGD) and 2^-19 (Adagrad) of a step of size
 * <= 1 + |w|.
 */
const GPU_OPTIMIZERS = [
  { className: 'SGD', only: { momentum: 0 }, relativeError: 2 ** -21 },
  { className: 'Adagrad', relativeError: 2 ** -19 },
] as const;

/** A GPU's name as the adapter reports it (`adapter.info`), for reports: `'google swiftshader'`. */
export function adapterName(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((p) => typeof p === 'string' && p.length > 0);
  return parts.length > 0 ? [...new Set(parts)].join(' ') : 'unknown adapter';
}

/**
 * The WebGPU backend (spec v2), on the WebGPU API alone: no ML runtime. The table lives in GPU
 * storage buffers split by rows so that no buffer passes the device's
 * `maxStorageBufferBindingSize` (128 MiB on many GPUs: a 300k x 128 float32 table takes two);
 * a WGSL kernel gathers the rows (float16 and int8 rows decoded in the shader) into one output
 * buffer, read back for `predict`, or handed to your next WebGPU stage by
 * `layer.lookupNative(new WebGpuIndices(ids, shape))` without a readback. Core validates every
 * index before anything reaches the GPU. Training applies core's sparse gradient (distinct
 * rows, so no atomics) in a compute pass. A lost device (`device.lost`) makes every later call
 * reject with `DeviceLostError` (code `DEVICE_LOST`); no call returns rows after a loss.
 *
 * Asynchronous, because it requests the device. Without WebGPU (`navigator.gpu` missing, no
 * adapter) it rejects with `UnsupportedFeatureError`; bad options with `InvalidConfigError`.
 *
 * @example
 * ```js
 * const layer = await Embedding.create({ inputDim: 1000, outputDim: 64 }, { backend: await createWebGpuBackend() });
 * ```
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<EmbeddingBackendV2<WebGpuNativeTypes>> {
  const checked = checkBackendOptions<WebGpuBackendOptions>(FACTORY, options, {
    device: { kind: 'any' },
    adapter: { kind: 'any' },
    storage: { kind: 'oneOf', values: ['float32', 'float16', 'int8'] },
    maxBindingBytes: { kind: 'integer', min: 4 },
  });
  const storage = checked.storage ?? 'float32';
  const device = checked.device ?? (await requestDevice(checked.adapter));
  if (typeof device !== 'object' || device === null || typeof (device as GPUDevice).createBuffer !== 'function') {
    throw optionError(FACTORY, 'device', device, 'a GPUDevice');
  }
  const gpu = GpuDevice.of(device);
  gpu.check('backend creation');
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (checked.maxBindingBytes !== undefined && checked.maxBindingBytes > limit) {
    throw optionError(FACTORY, 'maxBindingBytes', checked.maxBindingBytes, `<= the device's binding limit ${limit}`);
  }
  const bindingBytes = Math.floor((checked.maxBindingBytes ?? limit) / 4) * 4;
  return defineBackend<WebGpuNativeTypes>({
    name: 'webgpu',
    supports: {
      training: true,
      lookupInto: true,
      // SGD and Adagrad steps run on the GPU, Adagrad's state beside the rows (float32 tables);
      // the other optimizers (and these on float16/int8 tables) are computed by core and added in a compute pass.
      optimizers: storage === 'float32' ? GPU_OPTIMIZERS : [],
      storage: STORAGE[storage],
      // Any number of buffers: the device's memory is the limit (an allocation it refuses is a LimitExceededError).
      maxTableBytes: MAX_ARRAY_LENGTH * 4,
      // One output buffer is one binding.
      maxOutputBytes: Math.floor(limit / 4) * 4,
    },
    native: WEBGPU_NATIVE,
    async doCreateTable(config, initial): Promise<EmbeddingTableV2<WebGpuNativeTypes>> {
      const layout = tableLayout(config.inputDim, config.outputDim, storage, bindingBytes, limit);
      if (layout === null) {
        const rowBytes = Math.ceil((config.outputDim * STORAGE[storage].bytesPerValue) / 4) * 4;
        throw new LimitExceededError(
          'table row',
          rowBytes,
          limit,
          'webgpu',
          "one row must fit in one storage binding (the device's maxStorageBufferBindingSize)",
        );
      }
      return GpuTable.create(gpu, config, layout, initial);
    },
  });
}

async function requestDevice(adapter: GPUAdapter | undefined): Promise<GPUDevice> {
  let chosen = adapter;
  if (chosen === undefined) {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) {
      throw new UnsupportedFeatureError(
        'WebGPU',
        'webgpu',
        'navigator.gpu is undefined here; run in a browser with WebGPU, in a secure context (https:// or http://127.0.0.1), or pass options.device',
      );
    }
    chosen = (await gpu.requestAdapter()) ?? undefined;
    if (!chosen) throw new UnsupportedFeatureError('WebGPU', 'webgpu', 'navigator.gpu.requestAdapter() returned null: no GPU adapter here');
  }
  try {
    return await chosen.requestDevice({ label: 'embedding-layer' });
  } catch (error) {
    throw new UnsupportedFeatureError(
      'WebGPU',
      'webgpu',
      `adapter.requestDevice() failed (${error instanceof Error ? error.message : String(error)}); pass options.device to use a device of your own`,
    );
  }
}
