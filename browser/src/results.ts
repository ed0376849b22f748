// What the page publishes as `window.__EMBEDDING_RESULTS__` (read by the playwright test).
import type { CaseResult } from '@embedding-layer/conformance';

/** The browser's WebGL, as the page found it. */
export interface WebglInfo {
  available: boolean;
  context?: 'webgl2' | 'webgl';
  /** The unmasked renderer, e.g. "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device ...))". */
  renderer?: string;
  /** Why WebGL is not used, when it is not. */
  reason?: string;
}

/** The browser's WebGPU, as the page found it. */
export interface WebgpuInfo {
  available: boolean;
  /** `isSecureContext` of the page (WebGPU needs one; http://127.0.0.1 is one). */
  secureContext: boolean;
  /** The adapter's `info` (GPUAdapterInfo): on SwiftShader vendor "google", architecture "swiftshader". */
  adapter?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
  /** Whether the adapter offers the `shader-f16` feature. */
  shaderF16?: boolean;
  /** Why WebGPU (or one of its runtimes) is not used, when it is not. */
  reason?: string;
}

/** One backend's run of the seed example. */
export interface SeedRow {
  backend: string;
  /** Table storage of the backend (`supports.storage.dtype`). */
  storage: string;
  shape: number[];
  /** FNV-1a of the output bytes, as `npm start` prints it. */
  checksum: string;
  /**
   * float32 storage: equal, bit for bit, to adapter-js's output in the same page. Lossy
   * storage: every value within the backend's declared storage bound of adapter-js's.
   */
  agrees: boolean;
  /** Largest |difference| from adapter-js's output (0 when bitwise equal). */
  maxAbsDiff: number;
  /** Largest tolerance the declared storage bound allowed on this output (0 for float32). */
  maxBound: number;
  ms: number;
}

/** An error as the page saw it. */
export interface ErrorInfo {
  name: string;
  code?: string;
  message: string;
}

/** TF.js's raw gather at an out-of-range index next to our layer's answer. */
export interface ZerosDemo {
  /** The TF.js backend of the raw gather: `webgl`, `webgpu`, or `cpu` when the browser has no WebGL. */
  tfBackend: string;
  index: number;
  inputDim: number;
  /** First values of row 999 (in range) and of "row 1000" (out of range) from raw tf.gather. */
  rawLastRow?: number[];
  rawOutOfRangeRow?: number[];
  rawOutOfRangeAllZero?: boolean;
  /** Set when the raw gather threw instead. */
  rawError?: ErrorInfo;
  layerBackend: string;
  /** Checksum of our layer's in-range lookup of row 999 (it works). */
  layerLastRowChecksum?: string;
  /** Our layer's error for index 1000 (null: no error). */
  layerError?: ErrorInfo | null;
}

/** Every conformance case on one backend. */
export interface BackendCases {
  backend: string;
  results: CaseResult[];
}

/** A target whose factory refused to make a layer in this browser (no case ran on it). */
export interface Refusal {
  backend: string;
  error: ErrorInfo;
}

/**
 * onnxruntime-web's own webgpu session on a float16 table (our graph, `Cast(Gather(embeddings,
 * indices))`, fed by hand) next to our layer with the same options.
 */
export interface OrtFloat16Demo {
  /** The device's `shader-f16` feature (from the adapter). */
  shaderF16: boolean;
  /** First values of the raw session's output for rows [1, 2], and of the same rows decoded on the CPU. */
  rawOutput?: number[];
  expected?: number[];
  rawAllZero?: boolean;
  rawError?: ErrorInfo;
  /** Our layer's error (null: it made the layer, and `layerAgrees` says whether its rows match). */
  layerError?: ErrorInfo | null;
  layerAgrees?: boolean;
}

/** One backend's lookup in the big-table check. */
export interface BigTableRow {
  backend: string;
  /** The largest binding of the device it ran on, in bytes, where known. */
  bindingLimit?: number;
  /** Set when it returned rows: their comparison with adapter-js's. */
  bitwise?: boolean;
  withinBound?: boolean;
  maxAbsDiff?: number;
  /** How many returned values are 0 (adapter-js's rows have none). */
  zeros?: number;
  /** Set when it threw. */
  error?: ErrorInfo;
}

/** A float32 table larger than one 128 MiB storage binding, looked up at rows on both sides of 128 MiB. */
export interface BigTableDemo {
  inputDim: number;
  outputDim: number;
  tableBytes: number;
  ids: number[];
  results: BigTableRow[];
}

/** Everything the page computed. */
export interface PageResults {
  userAgent: string;
  crossOriginIsolated: boolean;
  versions: { tfjs: string; onnxruntimeWeb: string };
  webgl: WebglInfo;
  webgpu: WebgpuInfo;
  seed: SeedRow[];
  /** WebGL's raw gather (or cpu's, without WebGL) at an out-of-range index, next to our layer on the same TF.js backend. */
  zeros: ZerosDemo;
  /** The same on TF.js's webgpu backend (absent without WebGPU). */
  zerosWebgpu?: ZerosDemo;
  /** The `maxTableBytes` adapter-tfjs declared on webgpu: the device's binding limit. */
  tfjsWebgpuMaxTableBytes?: number;
  /** onnxruntime-web's webgpu EP on a float16 table (absent without WebGPU). */
  ortFloat16?: OrtFloat16Demo;
  /** A 300k x 128 float32 table (153.6 MB) on the WebGPU backends (absent without WebGPU). */
  bigTable?: BigTableDemo;
  /** Targets whose factory refused to make a layer here, with the error (not in `seed` or `conformance`). */
  refused: Refusal[];
  conformance: BackendCases[];
}

/** One backend's measurement on the benchmark page. */
export interface BenchRow {
  backend: string;
  storage: string;
  /** Table rows x width. */
  table: [number, number];
  /** Indices per `predict` call. */
  batch: number;
  calls: number;
  seconds: number;
  /** Rows looked up per second: batch x calls / seconds (a call includes reading the output back). */
  lookupsPerSecond: number;
  /** FNV-1a of the last output (equal across float32 backends: a correctness check on the way). */
  checksum: string;
  error?: string;
}

/** What the benchmark page measured, with the devices it ran on. */
export interface BenchResults {
  userAgent: string;
  /** The WebGPU adapter's name (`adapter.info`), e.g. "google swiftshader (fallback adapter)". */
  adapterName: string;
  webgl: WebglInfo;
  webgpu: WebgpuInfo;
  versions: { tfjs: string; onnxruntimeWeb: string };
  rows: BenchRow[];
}

declare global {
  interface Window {
    __EMBEDDING_RESULTS__?: PageResults | { error: string };
    __EMBEDDING_BENCH__?: BenchResults | { error: string };
  }
}
