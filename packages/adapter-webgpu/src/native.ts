import type { IndexData, NativeIndexView, NativeTensorsV2 } from '@embedding-layer/core';

/**
 * Indices for `layer.lookupNative(new WebGpuIndices(data, shape))`: core validates them with
 * the same rules and errors as `predict` before the gather runs, and the output stays on the
 * GPU as a {@link WebGpuLookup}.
 */
export class WebGpuIndices {
  /**
   * @param data - the indices, row-major (any typed array core accepts as indices)
   * @param shape - their shape; default `[data.length]`
   */
  constructor(
    readonly data: IndexData,
    readonly shape: readonly number[] = [data.length],
  ) {}
}

/**
 * What `layer.lookupNative` returns on this backend: the rows in a `GPUBuffer` (row-major
 * float32, `shape` = `[...indices.shape, outputDim]`), ready for the caller's next WebGPU
 * stage on the same device, with no readback. Usage `STORAGE | COPY_SRC | COPY_DST`; the
 * caller owns it and calls `buffer.destroy()` when done.
 */
export interface WebGpuLookup {
  /** The output rows. Its size is `byteLength` rounded up to 4 bytes, at least 4. */
  readonly buffer: GPUBuffer;
  /** `[...indices.shape, outputDim]`. */
  readonly shape: number[];
  /** Bytes of rows in `buffer` (indices x outputDim x 4). */
  readonly byteLength: number;
}

/**
 * What `layer.computeMaskNative` returns on this backend (layers with `maskZero`): Keras's mask
 * `indices != 0` in a `GPUBuffer`, one u32 (1 or 0) per index, row-major in the indices' shape
 * (WGSL has no 8-bit storage type). The caller owns the buffer and destroys it.
 */
export interface WebGpuMask {
  /** The mask values. Its size is `byteLength`, at least 4. */
  readonly buffer: GPUBuffer;
  /** The indices' shape. */
  readonly shape: number[];
  /** Bytes of mask values in `buffer` (indices x 4). */
  readonly byteLength: number;
}

/** The native types of the WebGPU backend, for `Embedding<WebGpuNativeTypes>`. */
export interface WebGpuNativeTypes {
  readonly input: WebGpuIndices;
  readonly output: WebGpuLookup;
  readonly mask: WebGpuMask;
}

/** Reads a {@link WebGpuIndices} for core's validation (null for anything else). */
export const WEBGPU_NATIVE: NativeTensorsV2 = {
  kind: 'WebGpuIndices',
  read(value: unknown): NativeIndexView | null {
    if (!(value instanceof WebGpuIndices)) return null;
    return { dtype: value.data.constructor.name.replace(/Array$/, '').toLowerCase(), shape: value.shape, data: value.data };
  },
};
