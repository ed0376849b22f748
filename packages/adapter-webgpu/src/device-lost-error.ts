import { EmbeddingError } from '@embedding-layer/core';

/** The code of {@link DeviceLostError}: core's `EmbeddingErrorCode` `'DEVICE_LOST'`. */
export const DEVICE_LOST = 'DEVICE_LOST' as const;

/**
 * The WebGPU device that holds a table was lost (`device.destroy()`, a driver reset or crash,
 * the tab's GPU process restarted): the table's rows are gone with it. Every call on a layer
 * whose device was lost rejects with this error; none returns rows read before the loss.
 * Code `DEVICE_LOST`. To go on, create a new backend (`createWebGpuBackend()`) and the layer
 * again, with weights from a copy kept elsewhere.
 */
export class DeviceLostError extends EmbeddingError {
  /** `GPUDeviceLostInfo.reason`: `'destroyed'` (the page called `device.destroy()`) or `'unknown'`. */
  readonly reason: string;
  /** What the call was doing, e.g. `'lookup'`. */
  readonly during: string;

  constructor(during: string, reason: string, detail: string, options?: { cause?: unknown }) {
    super(
      DEVICE_LOST,
      `The WebGPU device holding this table was lost (reason ${JSON.stringify(reason)}${detail ? `: ${detail}` : ''}) before or during the ${during}; ` +
        'its rows are gone and no result was returned. Create a new backend with createWebGpuBackend() and the layer again, with weights from a saved copy.',
      options,
    );
    this.name = 'DeviceLostError';
    this.reason = reason;
    this.during = during;
  }

  /** True when `error` is a DeviceLostError from any copy of this package (or of core). */
  static override isInstance(error: unknown): error is DeviceLostError {
    return EmbeddingError.isInstance(error) && (error.code as string) === DEVICE_LOST;
  }
}
