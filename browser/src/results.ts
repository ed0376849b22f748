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

/** One backend's run of the seed example. */
export interface SeedRow {
  backend: string;
  shape: number[];
  /** FNV-1a of the output bytes, as `npm start` prints it. */
  checksum: string;
  /** Equal, bit for bit, to the first backend's output. */
  agrees: boolean;
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
  /** The TF.js backend of the raw gather: `webgl`, or `cpu` when the browser has no WebGL. */
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

/** Everything the page computed. */
export interface PageResults {
  userAgent: string;
  crossOriginIsolated: boolean;
  versions: { tfjs: string; onnxruntimeWeb: string };
  webgl: WebglInfo;
  seed: SeedRow[];
  zeros: ZerosDemo;
  conformance: BackendCases[];
}

declare global {
  interface Window {
    __EMBEDDING_RESULTS__?: PageResults | { error: string };
  }
}
