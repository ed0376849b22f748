// The backends the page and the benchmark page run, and what the browser offers them (WebGL,
// WebGPU and its adapter). Shared by main.ts and bench.ts.
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createOnnxWebBackend } from '@embedding-layer/adapter-onnx/web';
import { createTfjsBackend } from '@embedding-layer/adapter-tfjs';
import { createWebGpuBackend } from '@embedding-layer/adapter-webgpu';
import type { EmbeddingBackend } from '@embedding-layer/core';
import * as tf from '@tensorflow/tfjs';
// Registers TF.js's webgpu backend with the same TF.js engine (only where navigator.gpu exists).
import '@tensorflow/tfjs-backend-webgpu';
import * as ort from 'onnxruntime-web';
import type { WebglInfo, WebgpuInfo } from './results.js';

// Single-threaded wasm: no cross-origin isolation needed (a lookup is a row copy anyway).
ort.env.wasm.numThreads = 1;

/** Table storage of a target (what its backend declares in `supports.storage`). */
export type Storage = 'float32' | 'float16' | 'int8';

/** One backend as the pages run it. */
export interface Target {
  /** The column name: `js`, `tfjs-webgpu`, `onnx-webgpu int8`, ... */
  name: string;
  /** Which device runs it: the page groups and checks the columns by it. */
  device: 'cpu' | 'webgl' | 'webgpu';
  storage: Storage;
  create: () => Promise<EmbeddingBackend>;
}

/** What the pages found in the browser, and the targets that can run in it. */
export interface Environment {
  webgl: WebglInfo;
  webgpu: WebgpuInfo;
  targets: Target[];
}

export function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message };
  }
  return { name: typeof error, message: String(error) };
}

/** Whether this browser gives a WebGL context, and whose renderer it is. */
function probeWebgl(): WebglInfo {
  const canvas = document.createElement('canvas');
  for (const kind of ['webgl2', 'webgl'] as const) {
    const gl = canvas.getContext(kind) as WebGLRenderingContext | null;
    if (!gl) continue;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    return { available: true, context: kind, renderer };
  }
  return { available: false, reason: 'canvas.getContext("webgl2") and ("webgl") both returned null' };
}

/** The part of the WebGPU API the probe reads (the DOM typings here do not include WebGPU). */
interface GpuAdapterLike {
  readonly info?: Record<string, unknown>;
  requestAdapterInfo?: () => Promise<Record<string, unknown>>;
  readonly limits: { readonly maxStorageBufferBindingSize: number; readonly maxBufferSize: number };
  readonly features: ReadonlySet<string>;
}

/** A GPUDevice, as far as this file handles one (the DOM typings here do not include WebGPU). */
type GPUDeviceLike = object;

/** Whether `navigator.gpu` gives an adapter, and which one (`adapter.info`, or `requestAdapterInfo()` on older browsers). */
async function probeWebgpu(): Promise<WebgpuInfo> {
  const secureContext = globalThis.isSecureContext === true;
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return { available: false, secureContext, reason: `navigator.gpu is undefined (secure context: ${secureContext})` };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { available: false, secureContext, reason: 'navigator.gpu.requestAdapter() returned null' };
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
  const text = (key: string): string => (typeof info[key] === 'string' ? (info[key] as string) : '');
  return {
    available: true,
    secureContext,
    adapter: {
      vendor: text('vendor'),
      architecture: text('architecture'),
      device: text('device'),
      description: text('description'),
      isFallbackAdapter: info.isFallbackAdapter === true,
    },
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
    shaderF16: adapter.features.has('shader-f16'),
  };
}

/** The adapter's name as reports show it, e.g. "google swiftshader (fallback adapter)". */
export function adapterName(webgpu: WebgpuInfo): string {
  if (!webgpu.available || !webgpu.adapter) return 'no WebGPU adapter';
  const a = webgpu.adapter;
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s !== '').join(' ') || 'unnamed adapter';
  return a.isFallbackAdapter ? `${name} (fallback adapter)` : name;
}

/**
 * TF.js's webgpu backend, with its CPU forwarding off: by default TF.js computes kernels on the
 * CPU when every input is still in main memory and smaller than 1000 values, which would run
 * most conformance cases (small tables) on the CPU. Off, every gather runs the WGSL kernel.
 */
function createTfjsWebgpu(): Promise<EmbeddingBackend> {
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  return createTfjsBackend({ backend: 'webgpu', runtime: tf });
}

/**
 * The largest storage binding the page's onnxruntime-web and adapter-webgpu devices get:
 * WebGPU's default, 128 MiB, which is also what many real GPUs' adapters report. (This
 * Chromium's SwiftShader adapter reports 1 GiB; TF.js requests that.)
 */
export const PAGE_BINDING_LIMIT = 134_217_728;

/**
 * onnxruntime-web requests its device with its adapter's limits: hand it the browser's adapter
 * reporting a `maxStorageBufferBindingSize` of at most {@link PAGE_BINDING_LIMIT}
 * (`ort.env.webgpu.adapter`, before its first webgpu session), so that the page runs it as on
 * a GPU with 128 MiB bindings.
 */
async function limitOrtBindings(): Promise<void> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return;
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) limits[key] = (adapter.limits as unknown as Record<string, number>)[key]!;
  limits.maxStorageBufferBindingSize = Math.min(adapter.limits.maxStorageBufferBindingSize, PAGE_BINDING_LIMIT);
  (ort.env.webgpu as { adapter?: unknown }).adapter = {
    limits,
    features: adapter.features,
    info: adapter.info,
    requestDevice: (descriptor?: unknown) =>
      (adapter as unknown as { requestDevice(d?: unknown): Promise<unknown> }).requestDevice(descriptor),
  };
}

/**
 * Every target this browser can run: js, TF.js (webgl when there is WebGL, cpu), onnxruntime-web
 * on wasm, and with WebGPU: TF.js's webgpu backend, onnxruntime-web's webgpu execution
 * provider and adapter-webgpu (each of these two with float32, float16 and int8 storage). A WebGPU target whose runtime fails to start is
 * left out with the reason in `webgpu.reason`: the test then fails on the missing column.
 */
export async function findTargets(): Promise<Environment> {
  const webgl = probeWebgl();
  const webgpu = await probeWebgpu();
  const targets: Target[] = [{ name: 'js', device: 'cpu', storage: 'float32', create: async () => createJsBackend() }];
  if (webgl.available) {
    try {
      await createTfjsBackend({ backend: 'webgl', runtime: tf });
      targets.push({
        name: 'tfjs-webgl',
        device: 'webgl',
        storage: 'float32',
        create: () => createTfjsBackend({ backend: 'webgl', runtime: tf }),
      });
    } catch (error) {
      webgl.available = false;
      webgl.reason = `TF.js could not start its webgl backend: ${describeError(error).message}`;
    }
  }
  targets.push(
    { name: 'tfjs-cpu', device: 'cpu', storage: 'float32', create: () => createTfjsBackend({ backend: 'cpu', runtime: tf }) },
    { name: 'onnx-web (wasm)', device: 'cpu', storage: 'float32', create: async () => createOnnxWebBackend({ runtime: ort }) },
  );
  if (webgpu.available) {
    try {
      await createTfjsWebgpu();
      targets.push({ name: 'tfjs-webgpu', device: 'webgpu', storage: 'float32', create: createTfjsWebgpu });
    } catch (error) {
      webgpu.reason = `TF.js could not start its webgpu backend: ${describeError(error).message}`;
    }
    await limitOrtBindings();
    for (const storage of ['float32', 'float16', 'int8'] as const) {
      targets.push({
        name: storage === 'float32' ? 'onnx-webgpu' : `onnx-webgpu ${storage}`,
        device: 'webgpu',
        storage,
        create: async () => createOnnxWebBackend({ runtime: ort, executionProviders: ['webgpu'], storage }),
      });
    }
    // Our own backend on the WebGPU API (@embedding-layer/adapter-webgpu), all its backends on one
    // device (default limits: 128 MiB bindings), as a page would run them. (One device per backend, its default, for each of the
    // ~850 backends the cases create lost a device on SwiftShader: "A valid external Instance
    // reference no longer exists".)
    let device: Promise<GPUDeviceLike> | undefined;
    const sharedDevice = (): Promise<GPUDeviceLike> => {
      device ??= (async () => {
        const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ requestDevice(): Promise<GPUDeviceLike> } | null> } }).gpu;
        const adapter = await gpu?.requestAdapter();
        if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null');
        return adapter.requestDevice();
      })();
      return device;
    };
    for (const storage of ['float32', 'float16', 'int8'] as const) {
      targets.push({
        name: storage === 'float32' ? 'webgpu' : `webgpu ${storage}`,
        device: 'webgpu',
        storage,
        create: async () => createWebGpuBackend({ device: (await sharedDevice()) as never, storage }),
      });
    }
  }
  return { webgl, webgpu, targets };
}

/** The runtimes' versions, for the pages' headers. */
export const VERSIONS = { tfjs: tf.version.tfjs, onnxruntimeWeb: ort.env.versions.web ?? 'unknown' };

export { ort, tf };
