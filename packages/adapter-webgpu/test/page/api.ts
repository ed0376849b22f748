// What the page offers the node-side test and the benchmark script (window.__webgpu).
import type { CaseResult } from '@embedding-layer/conformance';

/** The browser's WebGPU, as the page found it. */
export interface Probe {
  available: boolean;
  reason?: string;
  /** `adapter.info` as one name, e.g. 'google swiftshader'. */
  adapter?: string;
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
}

/** Options of a backend the page makes (createWebGpuBackend's, minus the device). */
export interface BackendChoice {
  storage?: 'float32' | 'float16' | 'int8';
  maxBindingBytes?: number;
}

/** One comparison of webgpu lookups with adapter-js's on the same weights. */
export interface Comparison {
  storage: string;
  splits: number;
  values: number;
  /** Values whose bits differ from adapter-js's. */
  differentBits: number;
  /** Largest |webgpu - js|. */
  maxDifference: number;
  /** Largest |webgpu - weight| / (declared bound of its row): at most 1 within the bound. */
  maxBoundRatio: number;
  firstDifference?: { index: number; webgpu: number; js: number };
}

/** The large-table check. */
export interface BigTable {
  rows: number;
  outputDim: number;
  tableBytes: number;
  bindingLimit: number;
  splits: number;
  rowsPerSplit: number;
  /** Rows looked up (both sides of every split, ends, a spread). */
  checkedRows: number[];
  /** Values that differ from the formula; [] when all equal. */
  mismatches: { row: number; col: number; got: number; want: number }[];
  /** readRows across each split boundary, compared with the formula. */
  readRowsMismatches: number;
  /** lookupNative's buffer read back, compared with the formula. */
  nativeMismatches: number;
}

/** The device-loss check. */
export interface DeviceLoss {
  before: string;
  /** Each call after `device.destroy()`: its error's name and code, or 'resolved' with whether its rows were the table's. */
  after: Record<string, { name: string; code?: string; message: string } | { resolved: true; rowsCorrect: boolean }>;
  lostReason: string;
  disposeAfterLoss: string;
}

/** One benchmark row. */
export interface BenchRow {
  path: string;
  storage: string;
  batch: number;
  iterations: number;
  ms: number;
  lookupsPerSecond: number;
}

/** The benchmark. */
export interface Bench {
  adapter: string;
  userAgent: string;
  rows: number;
  outputDim: number;
  results: BenchRow[];
}

/** window.__webgpu. */
export interface PageApi {
  probe(): Promise<Probe>;
  /** Lookups of a table's first and last row while setWeights replaces it: how many saw the old table, the new one, a mix. */
  atomicReplace(): Promise<{ old: number; new: number; mixed: number }>;
  /** A lookup whose dispatch WebGPU refuses (a broken bind group): rows before, the error, rows after. */
  refused(): Promise<{ before: boolean; refused: { name: string; code?: string; message: string } | null; after: boolean }>;
  /** Embedding.create of a table whose one row passes the device's binding limit: the error. */
  rowTooLarge(): Promise<{ limit: number; error: { name: string; code?: string; message: string } | null }>;
  /** The README's ```js example, run: each console.log as JSON, beside the README's comment for it. */
  readmeExample(): Promise<{ logged: string; comment: string }[]>;
  conformance(choice: BackendChoice): Promise<CaseResult[]>;
  /** The ids of the conformance cases adapter-js skips with this storage (by its declared capabilities). */
  jsSkips(storage: 'float32' | 'float16' | 'int8'): Promise<string[]>;
  compareWithJs(choice: BackendChoice & { rows?: number; outputDim?: number; count?: number }): Promise<Comparison>;
  bigTable(): Promise<BigTable>;
  deviceLoss(): Promise<DeviceLoss>;
  native(choice: BackendChoice): Promise<{
    shape: number[];
    equal: boolean;
    splits: number;
    /** computeMaskNative's buffer read back, and `indices != 0` computed in the page. */
    mask: { shape: number[]; values: number[]; expected: number[] };
    /** lookupNative of an index equal to input_dim: the error (null if none). */
    badIndex: { name: string; code?: string; message: string } | null;
  }>;
  training(choice: BackendChoice & { optimizer?: string }): Promise<{
    steps: number;
    maxDifference: number;
    /** Largest |webgpu - js| / (1 + |js|). */
    maxRelative: number;
    differentBits: number;
    values: number;
    /** The declared relativeError when the backend applies this optimizer on the GPU, else null (core computes the step). */
    onGpu: number | null;
    /** Whether training changed the weights at all. */
    moved: boolean;
  }>;
  bench(options: { rows: number; outputDim: number; batch: number; seconds: number }): Promise<Bench>;
}

declare global {
  interface Window {
    __webgpu?: PageApi;
  }
}
