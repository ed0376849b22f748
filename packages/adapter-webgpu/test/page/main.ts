// The test and benchmark page of adapter-webgpu. It runs in Chromium (headless, driven by
// test/webgpu.test.ts and bench/run.mjs) and offers its checks as window.__webgpu; each
// returns plain data that the node side asserts on. Reference values are computed here
// independently of the backend: adapter-js on the same weights, or a formula of (row, column).

import { source as readmeSource, run as runReadmeExample } from 'virtual:readme-example';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { CONFORMANCE_CASES, capabilitiesOf, randomIndices, runConformance } from '@embedding-layer/conformance';
import { Embedding } from '@embedding-layer/core';
import { STORAGE } from '@embedding-layer/core/backend';
import { adapterName, createWebGpuBackend, WebGpuIndices, type WebGpuNativeTypes } from '../../src/index.js';
import type { BackendChoice, Bench, BenchRow, BigTable, Comparison, DeviceLoss, PageApi, Probe } from './api.js';

let shared: Promise<{ adapter: GPUAdapter; device: GPUDevice }> | null = null;

/** One adapter and device for every check but the device-loss one (which destroys its own). */
function sharedDevice(): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  shared ??= (async () => {
    if (!navigator.gpu) throw new Error('navigator.gpu is undefined (no WebGPU in this browser or context)');
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null');
    return { adapter, device: await adapter.requestDevice() };
  })();
  return shared;
}

async function webgpu(choice: BackendChoice) {
  const { device } = await sharedDevice();
  return createWebGpuBackend({ device, ...choice });
}

function errorOf(error: unknown): { name: string; code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message };
  }
  return { name: typeof error, message: String(error) };
}

/** A small deterministic PRNG (mulberry32), independent of core's. */
function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Weights with rows of very different magnitudes and the values storages find hard: float16
 * subnormals and overflow, -0, exact powers of two, a zero row, a constant row.
 */
function hardWeights(rows: number, d: number, seed: number): Float32Array {
  const next = mulberry(seed);
  const w = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const magnitude = 10 ** (Math.floor(next() * 12) - 8);
    for (let c = 0; c < d; c++) w[r * d + c] = (next() * 2 - 1) * magnitude;
  }
  const special = [0, -0, 2 ** -24, -(2 ** -20), 6e-8, 1e-7, 65504, 65519, 70000, -1e5, 1, -1, 0.5, 3.0517578125e-5];
  for (let c = 0; c < d; c++) w[c] = special[c % special.length]!;
  if (rows > 2) w.fill(0, 2 * d, 3 * d);
  if (rows > 3) w.fill(-0.3, 3 * d, 4 * d);
  return w;
}

const probe = async (): Promise<Probe> => {
  try {
    const { adapter, device } = await sharedDevice();
    return {
      available: true,
      adapter: adapterName(adapter.info),
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
    };
  } catch (error) {
    return { available: false, reason: errorOf(error).message };
  }
};

async function compareWithJs(choice: BackendChoice & { rows?: number; outputDim?: number; count?: number }): Promise<Comparison> {
  const rows = choice.rows ?? 300;
  const d = choice.outputDim ?? 37;
  const count = choice.count ?? 4000;
  const storage = choice.storage ?? 'float32';
  const weights = hardWeights(rows, d, 11);
  const gpu = await Embedding.create(
    { inputDim: rows, outputDim: d },
    {
      backend: await webgpu({ storage, ...(choice.maxBindingBytes ? { maxBindingBytes: choice.maxBindingBytes } : {}) }),
      weights: [weights],
    },
  );
  const js = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: createJsBackend({ storage }), weights: [weights] });
  try {
    const ids = randomIndices(5, count, rows);
    for (let i = 0; i < Math.min(rows, count); i++) ids[i] = i; // every row at least once
    const a = (await gpu.predict({ data: ids, shape: [count] })).data;
    const b = (await js.predict({ data: ids, shape: [count] })).data;
    const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
    const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
    const bound = STORAGE[storage].bound;
    const rowMax = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < d; c++) {
        const v = Math.abs(weights[r * d + c]!);
        if (v > rowMax[r]! && v !== Number.POSITIVE_INFINITY) rowMax[r] = v;
      }
    }
    let differentBits = 0;
    let maxDifference = 0;
    let maxBoundRatio = 0;
    let firstDifference: Comparison['firstDifference'];
    for (let i = 0; i < a.length; i++) {
      if (ua[i] !== ub[i]) {
        differentBits++;
        firstDifference ??= { index: i, webgpu: a[i]!, js: b[i]! };
        maxDifference = Math.max(maxDifference, Math.abs(a[i]! - b[i]!));
      }
      const row = ids[Math.floor(i / d)]!;
      const want = weights[row * d + (i % d)]!;
      // Within the bound only where the storage keeps the value (float16 overflows past 65504).
      if (Math.abs(want) <= STORAGE[storage].maxValue) {
        const allowed = bound.relative * rowMax[row]! + bound.absolute;
        const err = Math.abs(a[i]! - want);
        maxBoundRatio = Math.max(maxBoundRatio, allowed === 0 ? (err === 0 ? 0 : Number.POSITIVE_INFINITY) : err / allowed);
      }
    }
    return {
      storage,
      splits: Number(gpu.describe().splits),
      values: a.length,
      differentBits,
      maxDifference,
      maxBoundRatio,
      ...(firstDifference ? { firstDifference } : {}),
    };
  } finally {
    await gpu.dispose();
    await js.dispose();
  }
}

/** The big table's value at (row, col): 20 significant bits from a hash, exact in float32. */
function formula(row: number, col: number): number {
  let h = Math.imul(row, 0x9e3779b1) ^ Math.imul(col + 1, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return ((h >>> 12) - 2 ** 19) / 1024;
}

async function bigTable(): Promise<BigTable> {
  const rows = 300_000;
  const d = 128;
  const { device } = await sharedDevice();
  const layer = await Embedding.create<WebGpuNativeTypes>(
    { inputDim: rows, outputDim: d, embeddingsInitializer: 'zeros' },
    { backend: await createWebGpuBackend({ device }) },
  );
  try {
    const chunk = 16_384;
    for (let start = 0; start < rows; start += chunk) {
      const n = Math.min(chunk, rows - start);
      const values = new Float32Array(n * d);
      for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) values[r * d + c] = formula(start + r, c);
      await layer.writeRows(start, values);
    }
    const info = layer.describe();
    const splits = Number(info.splits);
    const rowsPerSplit = Number(info.rowsPerSplit);
    const wanted = new Set<number>([0, 1, rows - 2, rows - 1]);
    for (let s = 1; s < splits; s++) for (const k of [-2, -1, 0, 1]) wanted.add(s * rowsPerSplit + k);
    for (let k = 0; k < 64; k++) wanted.add(Math.floor((k * rows) / 64) + (k % 7));
    const checkedRows = [...wanted].filter((r) => r >= 0 && r < rows);
    // Interleave the sides of each split in one lookup, and look each row up twice.
    const ids = Int32Array.from([...checkedRows, ...[...checkedRows].reverse()]);
    const out = (await layer.predict({ data: ids, shape: [ids.length] })).data;
    const mismatches: BigTable['mismatches'] = [];
    for (let i = 0; i < ids.length; i++) {
      for (let c = 0; c < d; c++) {
        const want = formula(ids[i]!, c);
        const got = out[i * d + c]!;
        if (!Object.is(got, want) && mismatches.length < 20) mismatches.push({ row: ids[i]!, col: c, got, want });
      }
    }
    let readRowsMismatches = 0;
    for (let s = 1; s < splits; s++) {
      const start = s * rowsPerSplit - 3;
      const read = await layer.readRows(start, 6);
      for (let r = 0; r < 6; r++) for (let c = 0; c < d; c++) if (!Object.is(read[r * d + c], formula(start + r, c))) readRowsMismatches++;
    }
    const native = layer.lookupNative(new WebGpuIndices(ids, [ids.length]));
    const staging = device.createBuffer({ size: native.buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(native.buffer, 0, staging, 0, native.buffer.size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const nativeValues = new Float32Array(staging.getMappedRange().slice(0, native.byteLength));
    staging.unmap();
    staging.destroy();
    native.buffer.destroy();
    let nativeMismatches = 0;
    for (let i = 0; i < ids.length; i++)
      for (let c = 0; c < d; c++) if (!Object.is(nativeValues[i * d + c], formula(ids[i]!, c))) nativeMismatches++;
    return {
      rows,
      outputDim: d,
      tableBytes: rows * d * 4,
      bindingLimit: device.limits.maxStorageBufferBindingSize,
      splits,
      rowsPerSplit,
      checkedRows,
      mismatches,
      readRowsMismatches,
      nativeMismatches,
    };
  } finally {
    await layer.dispose();
  }
}

async function deviceLoss(): Promise<DeviceLoss> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no adapter');
  const device = await adapter.requestDevice();
  const rows = 64;
  const d = 16;
  const weights = hardWeights(rows, d, 3);
  const layer = await Embedding.create<WebGpuNativeTypes>(
    { inputDim: rows, outputDim: d },
    { backend: await createWebGpuBackend({ device }), weights: [weights] },
  );
  const ids = Int32Array.from({ length: 256 }, (_, i) => (i * 13) % rows);
  const expected = new Float32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) expected.set(weights.subarray(ids[i]! * d, ids[i]! * d + d), i * d);
  const rowsCorrect = (data: Float32Array) => data.length === expected.length && data.every((v, i) => Object.is(v, expected[i]));
  const first = await layer.predict({ data: ids, shape: [ids.length] });
  const before = rowsCorrect(first.data) ? 'rows correct' : 'ROWS WRONG';
  const after: DeviceLoss['after'] = {};
  const settle = async (name: string, call: () => Promise<unknown>) => {
    try {
      const result = await call();
      const data = (result as { data?: unknown })?.data;
      after[name] = { resolved: true, rowsCorrect: data instanceof Float32Array && rowsCorrect(data) };
    } catch (error) {
      after[name] = errorOf(error);
    }
  };
  // A lookup in flight when the device goes, then calls before and after `device.lost` resolves.
  const inFlight = layer.predict({ data: ids, shape: [ids.length] });
  device.destroy();
  const immediately = layer.predict({ data: ids, shape: [ids.length] });
  await settle('lookup in flight at destroy()', () => inFlight);
  await settle('lookup right after destroy()', () => immediately);
  const lost = await device.lost;
  await settle('predict', () => layer.predict({ data: ids, shape: [ids.length] }));
  await settle('predict into a buffer', () => layer.predict({ data: ids, shape: [ids.length] }, { out: new Float32Array(ids.length * d) }));
  await settle('readRows', () => layer.readRows(0, 4));
  await settle('getWeights', () => layer.getWeights());
  await settle('writeRows', () => layer.writeRows(0, new Float32Array(d)));
  await settle('lookupNative', async () => layer.lookupNative(new WebGpuIndices(ids)));
  await settle('trainOnBatch', async () => {
    layer.compile('sgd', 'mse');
    return layer.trainOnBatch([[1], [2]], new Float32Array(2 * d));
  });
  let disposeAfterLoss = 'ok';
  try {
    await layer.dispose();
  } catch (error) {
    disposeAfterLoss = `${errorOf(error).name}: ${errorOf(error).message}`;
  }
  return { before, after, lostReason: lost.reason, disposeAfterLoss };
}

/** A GPU buffer's first `bytes`, read back through a staging buffer. */
async function readBuffer(device: GPUDevice, buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0, bytes);
  staging.destroy();
  return copy;
}

async function native(choice: BackendChoice): ReturnType<PageApi['native']> {
  const { device } = await sharedDevice();
  const rows = 100;
  const d = 9;
  const weights = hardWeights(rows, d, 8);
  const layer = await Embedding.create<WebGpuNativeTypes>(
    { inputDim: rows, outputDim: d, maskZero: true },
    { backend: await webgpu(choice), weights: [weights] },
  );
  try {
    const ids = randomIndices(2, 60, rows);
    ids[0] = 0; // a masked position
    const viaPredict = (await layer.predict({ data: ids, shape: [3, 20] })).data;
    const out = layer.lookupNative(new WebGpuIndices(ids, [3, 20]));
    const values = new Uint32Array(await readBuffer(device, out.buffer, out.byteLength));
    out.buffer.destroy();
    const expected = new Uint32Array(viaPredict.buffer, viaPredict.byteOffset, viaPredict.length);
    const mask = layer.computeMaskNative(new WebGpuIndices(ids, [3, 20]))!;
    const maskValues = [...new Uint32Array(await readBuffer(device, mask.buffer, mask.byteLength))];
    mask.buffer.destroy();
    let badIndex: { name: string; code?: string; message: string } | null = null;
    try {
      layer.lookupNative(new WebGpuIndices(Int32Array.of(3, rows), [2])).buffer.destroy();
    } catch (error) {
      badIndex = errorOf(error);
    }
    return {
      shape: out.shape,
      equal: values.length === expected.length && values.every((v, i) => v === expected[i]),
      splits: Number(layer.describe().splits),
      mask: { shape: mask.shape, values: maskValues, expected: [...ids].map((i) => (i !== 0 ? 1 : 0)) },
      badIndex,
    };
  } finally {
    await layer.dispose();
  }
}

async function training(choice: BackendChoice & { optimizer?: string }) {
  const rows = 40;
  const d = 6;
  const weights = hardWeights(rows, d, 21).map((v) => Math.max(-2, Math.min(2, v)));
  const { optimizer: name = 'adam', ...backendChoice } = choice;
  const storage = choice.storage ?? 'float32';
  const gpu = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: await webgpu(backendChoice), weights: [weights] });
  const js = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: createJsBackend({ storage }), weights: [weights] });
  try {
    // Adagrad with a small starting accumulator and a large rate, so that each step's g^2 moves
    // the accumulator (and a lost accumulator shows).
    const optimizer =
      name === 'adagrad' ? { className: 'Adagrad', config: { learning_rate: 0.05, initial_accumulator_value: 1e-3 } } : (name as 'adam');
    gpu.compile(optimizer, 'mse');
    js.compile(optimizer, 'mse');
    const steps = 6;
    for (let s = 0; s < steps; s++) {
      const x = Array.from({ length: 8 }, (_, i) => [(i * 5 + s * 3) % rows, (i * 7 + s) % rows]);
      const y = Float32Array.from({ length: 8 * 2 * d }, (_, i) => Math.sin(i + s));
      await gpu.trainOnBatch(x, y);
      await js.trainOnBatch(x, y);
    }
    const a = (await gpu.getWeights())[0]!;
    const b = (await js.getWeights())[0]!;
    let differentBits = 0;
    let maxDifference = 0;
    let maxRelative = 0;
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(a[i], b[i])) differentBits++;
      maxDifference = Math.max(maxDifference, Math.abs(a[i]! - b[i]!));
      maxRelative = Math.max(maxRelative, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
    }
    const className = { sgd: 'SGD', adagrad: 'Adagrad', adam: 'Adam', rmsprop: 'RMSprop' }[name] ?? name;
    const onGpu = gpu.supports.optimizers.find((o) => o.className === className);
    const moved = a.some((v, i) => !Object.is(v, weights[i]));
    return { steps, maxDifference, maxRelative, differentBits, values: a.length, onGpu: onGpu?.relativeError ?? null, moved };
  } finally {
    await gpu.dispose();
    await js.dispose();
  }
}

async function bench(options: { rows: number; outputDim: number; batch: number; seconds: number }): Promise<Bench> {
  const { adapter, device } = await sharedDevice();
  const { rows, outputDim, batch, seconds } = options;
  const results: BenchRow[] = [];
  const ids = randomIndices(3, batch, rows);
  const time = async (path: string, storage: string, run: () => Promise<unknown>) => {
    await run(); // warm-up: kernels compiled, buffers allocated once
    let iterations = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      await run();
      iterations++;
    }
    const ms = performance.now() - start;
    results.push({ path, storage, batch, iterations, ms, lookupsPerSecond: (iterations * batch * 1000) / ms });
  };
  for (const storage of ['float32', 'int8'] as const) {
    const layer = await Embedding.create<WebGpuNativeTypes>(
      { inputDim: rows, outputDim, seed: 1 },
      { backend: await createWebGpuBackend({ device, storage }) },
    );
    const out = new Float32Array(batch * outputDim);
    await time('webgpu predict (gather + readback)', storage, () => layer.predict({ data: ids, shape: [batch] }, { out }));
    await time('webgpu lookupNative (gather, no readback)', storage, async () => {
      const r = layer.lookupNative(new WebGpuIndices(ids));
      await device.queue.onSubmittedWorkDone();
      r.buffer.destroy();
    });
    await layer.dispose();
    const js = await Embedding.create({ inputDim: rows, outputDim, seed: 1 }, { backend: createJsBackend({ storage }) });
    await time('adapter-js predict (same page)', storage, () => js.predict({ data: ids, shape: [batch] }, { out }));
    await js.dispose();
  }
  return { adapter: adapterName(adapter.info), userAgent: navigator.userAgent, rows, outputDim, results };
}

/** Runs the README's example; returns each console.log line as JSON and the comment the README gives it. */
async function readmeExample(): Promise<{ logged: string; comment: string }[]> {
  const logged: string[] = [];
  await runReadmeExample({ log: (...values) => logged.push(values.map((v) => JSON.stringify(v)).join(' ')) });
  const comments = readmeSource
    .split('\n')
    .filter((l) => /^\s*console\.log\(/.test(l))
    .map((l) => /\/\/ (.*)$/.exec(l)?.[1] ?? '');
  return logged.map((l, i) => ({ logged: l, comment: comments[i] ?? '(no console.log line)' }));
}

/** A table whose one row is larger than the device's binding limit: refused before anything is allocated. */
async function rowTooLarge(): Promise<{ limit: number; error: { name: string; code?: string; message: string } | null }> {
  const { device } = await sharedDevice();
  const limit = device.limits.maxStorageBufferBindingSize;
  const outputDim = limit / 4 + 1;
  try {
    const layer = await Embedding.create({ inputDim: 1, outputDim, embeddingsInitializer: 'zeros' }, { backend: await webgpu({}) });
    await layer.dispose();
    return { limit, error: null };
  } catch (error) {
    return { limit, error: errorOf(error) };
  }
}

/**
 * A device whose bind groups the page breaks on demand (the uniform binding made too small for
 * the kernels' Params): WebGPU refuses those dispatches with a validation error, which a lookup
 * must report, never answer with the zeros an unexecuted dispatch leaves.
 */
async function refused(): Promise<{ before: boolean; refused: { name: string; code?: string; message: string } | null; after: boolean }> {
  const { device } = await sharedDevice();
  let sabotage = false;
  const proxy = new Proxy(device, {
    get(target, key) {
      if (key === 'createBindGroup') {
        return (descriptor: GPUBindGroupDescriptor) =>
          target.createBindGroup(
            sabotage
              ? {
                  ...descriptor,
                  entries: [...descriptor.entries].map((e) =>
                    e.binding === 0 ? { ...e, resource: { ...(e.resource as GPUBufferBinding), size: 4 } } : e,
                  ),
                }
              : descriptor,
          );
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const rows = 20;
  const d = 4;
  const weights = Float32Array.from({ length: rows * d }, (_, i) => i + 1);
  const layer = await Embedding.create(
    { inputDim: rows, outputDim: d },
    { backend: await createWebGpuBackend({ device: proxy }), weights: [weights] },
  );
  const ids = Int32Array.of(3, 7, 19);
  const correct = (data: Float32Array) => [...ids].every((r, k) => [0, 1, 2, 3].every((c) => data[k * d + c] === weights[r * d + c]));
  try {
    const before = correct((await layer.predict(ids)).data);
    sabotage = true;
    let error: { name: string; code?: string; message: string } | null = null;
    try {
      await layer.predict(ids);
    } catch (e) {
      error = errorOf(e);
    }
    sabotage = false;
    return { before, refused: error, after: correct((await layer.predict(ids)).data) };
  } finally {
    await layer.dispose();
  }
}

/**
 * setWeights of a table larger than core's 16 MiB write chunk while lookups of its first and
 * last row run: each lookup must see the old table or the new one, never a mix.
 */
async function atomicReplace(): Promise<{ old: number; new: number; mixed: number }> {
  const rows = 40_000;
  const d = 128;
  const layer = await Embedding.create(
    { inputDim: rows, outputDim: d },
    { backend: await webgpu({}), weights: [new Float32Array(rows * d).fill(1)] },
  );
  try {
    const ids = Int32Array.of(0, rows - 1);
    const counts = { old: 0, new: 0, mixed: 0 };
    let replacing = true;
    const replaced = layer.setWeights([new Float32Array(rows * d).fill(2)]).finally(() => {
      replacing = false;
    });
    const looking = (async () => {
      while (replacing) {
        const out = (await layer.predict({ data: ids, shape: [2] })).data;
        if (out.every((v) => v === 1)) counts.old++;
        else if (out.every((v) => v === 2)) counts.new++;
        else counts.mixed++;
      }
    })();
    await Promise.all([replaced, looking]);
    return counts;
  } finally {
    await layer.dispose();
  }
}

const api: PageApi = {
  probe,
  readmeExample,
  atomicReplace,
  refused,
  rowTooLarge,
  conformance: async (choice) => runConformance({ createBackend: () => webgpu(choice) }),
  jsSkips: async (storage) => {
    const supports = await capabilitiesOf(async () => createJsBackend({ storage }));
    return CONFORMANCE_CASES.filter((c) => c.skip?.(supports) != null).map((c) => c.id);
  },
  compareWithJs,
  bigTable,
  deviceLoss,
  native,
  training,
  bench,
};
window.__webgpu = api;

const status = document.getElementById('status')!;
const out = document.getElementById('out')!;
if (new URLSearchParams(location.search).has('bench')) {
  status.textContent = 'running the benchmark…';
  bench({ rows: 100_000, outputDim: 64, batch: 4096, seconds: 2 }).then(
    (r) => {
      out.textContent = JSON.stringify(r, null, 2);
      status.textContent = 'done';
    },
    (error: unknown) => {
      status.textContent = `error: ${errorOf(error).message}`;
    },
  );
} else {
  status.textContent = 'ready';
}
document.body.dataset.ready = 'true';
