import { EmbeddingError, LimitExceededError } from '@embedding-layer/core';
import { DeviceLostError } from './device-lost-error.js';
import type { WebGpuStorage } from './layout.js';
import { ADAGRAD_SHADER, gatherShader, SCATTER_ADD_SHADER, SCATTER_ROWS_SHADER, SGD_SHADER, WORKGROUP } from './shaders.js';

/** The kernels a table runs. */
export type Kernel = WebGpuStorage | 'scatterAdd' | 'scatterRows' | 'sgd' | 'adagrad';

const KERNELS: Record<Exclude<Kernel, WebGpuStorage>, string> = {
  scatterAdd: SCATTER_ADD_SHADER,
  scatterRows: SCATTER_ROWS_SHADER,
  sgd: SGD_SHADER,
  adagrad: ADAGRAD_SHADER,
};

const MAX_WORKGROUPS = 65535;
/** Bytes of the kernels' `Params` uniform block. */
const PARAMS_BYTES = 48;
/** `Params.base` when a gather's output positions are in order (one split). */
const IDENTITY = 0xffffffff;

/**
 * One dispatch of a kernel over one split: the split's rows (`first`, `count`), its row
 * `stride` in words, `d` values per work row, the buffers bound after the uniforms, and for a
 * gather the split's own work (`total`) and where its output positions start in `order`
 * (`base`).
 */
export interface SplitDispatch {
  index: number;
  d: number;
  first: number;
  count: number;
  stride: number;
  buffers: readonly GPUBuffer[];
  total?: number;
  base?: number;
}

/**
 * One GPUDevice as the tables of a backend share it: its compiled kernels, and whether it was
 * lost (`device.lost` resolved), so that every call after a loss fails with
 * {@link DeviceLostError} before it touches the device.
 */
export class GpuDevice {
  private static readonly known = new WeakMap<GPUDevice, GpuDevice>();

  /** The one GpuDevice of `device`, so that backends on one device share its kernels and its loss. */
  static of(device: GPUDevice): GpuDevice {
    let gpu = GpuDevice.known.get(device);
    if (!gpu) {
      gpu = new GpuDevice(device);
      GpuDevice.known.set(device, gpu);
    }
    return gpu;
  }

  /** Set once `device.lost` resolves. */
  private lostInfo: GPUDeviceLostInfo | null = null;
  private readonly pipelines = new Map<Kernel, GPUComputePipeline>();
  /** Bytes between two uniform blocks of one buffer (the device's uniform offset alignment). */
  readonly uniformStride: number;

  private constructor(readonly device: GPUDevice) {
    void device.lost.then((info) => {
      this.lostInfo = info;
    });
    this.uniformStride = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
  }

  /** Throws {@link DeviceLostError} when the device was lost. */
  check(during: string): void {
    if (this.lostInfo) throw new DeviceLostError(during, this.lostInfo.reason, this.lostInfo.message);
  }

  /**
   * After a GPU operation failed (a `mapAsync` rejected): a {@link DeviceLostError} when the
   * device was lost (waiting briefly for `device.lost`, which may resolve after the failure),
   * else the failure itself.
   */
  async failure(during: string, error: unknown): Promise<never> {
    if (!this.lostInfo) {
      await Promise.race([this.device.lost, new Promise((resolve) => setTimeout(resolve, 250))]);
    }
    if (this.lostInfo) throw new DeviceLostError(during, this.lostInfo.reason, this.lostInfo.message, { cause: error });
    throw error;
  }

  /**
   * Opens WebGPU error scopes around the device calls that follow (synchronously) and returns
   * the function that closes them: it rejects when WebGPU refused one of those calls, so that
   * a refused dispatch or copy is an error and never a silent zero: out of memory as
   * `LimitExceededError` (`bytes` the call needed), anything else as an `EmbeddingError` with
   * code `BACKEND_UNAVAILABLE` quoting WebGPU's message. Call the closer before any `await`.
   */
  guard(during: string, bytes: number): () => Promise<void> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    return async () => {
      const validation = this.device.popErrorScope();
      const memory = this.device.popErrorScope();
      const [invalid, oom] = await Promise.all([validation, memory]);
      if (oom) {
        throw new LimitExceededError(
          during,
          bytes,
          this.device.limits.maxBufferSize,
          'webgpu',
          `the device ran out of memory (${oom.message}); the limit shown is its largest buffer, its free memory is less`,
          {
            cause: oom,
          },
        );
      }
      if (invalid) {
        throw new EmbeddingError(
          'BACKEND_UNAVAILABLE',
          `WebGPU refused the ${during} (a GPU validation error: ${invalid.message}); no result was returned. This is a bug of adapter-webgpu or a limit of this device: report it with the device's limits.`,
          { cause: invalid },
        );
      }
    };
  }

  /** The compiled pipeline of a kernel (compiled once per device). */
  pipeline(kernel: Kernel): GPUComputePipeline {
    let pipeline = this.pipelines.get(kernel);
    if (!pipeline) {
      const code = kernel in KERNELS ? KERNELS[kernel as keyof typeof KERNELS] : gatherShader(kernel as WebGpuStorage);
      const module = this.device.createShaderModule({ label: `embedding-layer ${kernel}`, code });
      pipeline = this.device.createComputePipeline({
        label: `embedding-layer ${kernel}`,
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      this.pipelines.set(kernel, pipeline);
    }
    return pipeline;
  }

  /** A buffer of at least 4 bytes (WebGPU refuses to bind empty ones), rounded up to whole words. */
  buffer(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    return this.device.createBuffer({ label, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage });
  }

  /** A storage buffer holding `data` (uploaded through the queue). */
  upload(data: Uint32Array | Int32Array | Float32Array, label: string): GPUBuffer {
    const buffer = this.buffer(data.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label);
    if (data.length > 0) this.device.queue.writeBuffer(buffer, 0, data as Uint32Array<ArrayBuffer>);
    return buffer;
  }

  /**
   * Encodes one dispatch of `kernel` per split in `splits`: binding 0 the split's uniforms
   * (`total`, `d`, `first`, `count`, `stride`, grid size, and the f32 arguments `lr`, `eps`),
   * bindings 1... the split's `buffers`. Returns the uniform buffer, to be destroyed with the
   * call's other temporaries.
   */
  dispatch(
    encoder: GPUCommandEncoder,
    kernel: Kernel,
    total: number,
    splits: readonly SplitDispatch[],
    args: { lr?: number; eps?: number } = {},
  ): GPUBuffer {
    const stride = this.uniformStride;
    const uniforms = this.buffer(splits.length * stride, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'embedding-layer uniforms');
    const workgroups = splits.map((s) => Math.max(1, Math.min(MAX_WORKGROUPS, Math.ceil((s.total ?? total) / WORKGROUP))));
    const params = new Uint32Array((splits.length * stride) / 4);
    const floats = new Float32Array(params.buffer);
    splits.forEach((s, k) => {
      const at = (k * stride) / 4;
      params.set([s.total ?? total, s.d, s.first, s.count, s.stride, workgroups[k]! * WORKGROUP], at);
      floats[at + 6] = args.lr ?? 0;
      floats[at + 7] = args.eps ?? 0;
      params[at + 8] = s.base ?? IDENTITY;
    });
    this.device.queue.writeBuffer(uniforms, 0, params);
    const pipeline = this.pipeline(kernel);
    const layout = pipeline.getBindGroupLayout(0);
    const pass = encoder.beginComputePass({ label: `embedding-layer ${kernel}` });
    pass.setPipeline(pipeline);
    splits.forEach((s, k) => {
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: uniforms, offset: k * stride, size: PARAMS_BYTES } },
        ...s.buffers.map((buffer, b) => ({ binding: b + 1, resource: { buffer } })),
      ];
      pass.setBindGroup(0, this.device.createBindGroup({ layout, entries }));
      pass.dispatchWorkgroups(workgroups[k]!);
    });
    pass.end();
    return uniforms;
  }

  /** Destroys temporary buffers once the work submitted so far is done. */
  release(buffers: readonly GPUBuffer[]): void {
    this.device.queue.onSubmittedWorkDone().then(
      () => {
        for (const b of buffers) b.destroy();
      },
      () => {
        for (const b of buffers) b.destroy();
      },
    );
  }

  /**
   * Submits `encoder` after the copies `copy(staging)` encodes into a `bytes`-long staging
   * buffer, maps it and hands its contents to `take` (which copies what it keeps). A failure to
   * map is {@link GpuDevice.failure}: a lost device never gives rows.
   */
  async readBack<T>(
    encoder: GPUCommandEncoder,
    bytes: number,
    during: string,
    copy: (staging: GPUBuffer) => void,
    take: (mapped: ArrayBuffer) => T,
  ): Promise<T> {
    const staging = this.buffer(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'embedding-layer readback');
    copy(staging);
    this.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (error) {
      staging.destroy();
      return this.failure(during, error);
    }
    // The copy finished before the map resolved: these are the rows as the GPU held them.
    try {
      return take(staging.getMappedRange());
    } finally {
      staging.unmap();
      staging.destroy();
    }
  }
}
