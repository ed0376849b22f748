import { Embedding, type IndexInput, resolveConfig } from '@embedding-layer/core';
import { KNOWN_BACKENDS } from '../backends.js';
import type { Workload } from './types.js';
import { BENCH_THREADS } from './workloads.js';

/** What a child process times: one target, set up on one workload. */
export interface Subject {
  /** Creation of the layer / tensor / session from the source table, in ms. */
  createMs?: number;
  /**
   * RSS right after creation, when the subject allocates more before its first call (the
   * probe of `predict(x, { out })` allocates an output-sized buffer, 0.5x the table at L),
   * so that "RSS after create" counts the creation only.
   */
  rssAfterCreate?: number;
  /** One lookup (or copy) with a fresh output; returns the output for the correctness check. */
  run: () => unknown;
  /** One lookup into a caller-provided buffer of the output's length, when the API allows it. */
  runOut?: (out: Float32Array) => unknown;
  /**
   * The buffer `runOut` writes into, when the target places it itself (a layer's
   * `allocateOutput`, as torch's `out=` takes a tensor torch allocated); default a new Float32Array.
   */
  outBuffer?: () => Float32Array;
  /** Why `runOut` is absent. */
  outNote?: string;
  /** Copy methods, for the copy limit: timed one by one, fastest kept. */
  methods?: Record<string, () => unknown>;
  /** Whether `run`'s output is a lookup whose rows can be checked against the table. */
  checkable: boolean;
  /** A remark for the report. */
  note?: string;
  dispose: () => unknown;
}

/** Inputs shared by every subject of a workload. */
export interface SubjectInput {
  workload: Workload;
  table: Float32Array | null;
  indices: Int32Array;
}

/** Signals that a target cannot run here (not installed, no python3 with torch...): a skip, not a failure. */
export class SkipTarget extends Error {
  override name = 'SkipTarget';
}

type Module = Record<string, any>;

async function importOptional(name: string, install: string): Promise<Module> {
  let module: Module;
  try {
    module = (await import(/* @vite-ignore */ name)) as Module;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND')
      throw new SkipTarget(`${name} is not installed (npm install ${install})`);
    throw error;
  }
  return module;
}

/** Loads @tensorflow/tfjs (CommonJS default export in Node) and switches to `backend`. */
export async function loadTf(backend: 'cpu' | 'wasm'): Promise<Module> {
  const module = await importOptional('@tensorflow/tfjs', '@tensorflow/tfjs');
  const tf = (module.default && typeof module.default.gather === 'function' ? module.default : module) as Module;
  if (backend === 'wasm') await importOptional('@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js could not initialize its ${backend} backend.`);
  await tf.ready();
  return tf;
}

/** Is `predict(x, { out })` implemented? Detected by behaviour: the result must be the buffer passed. */
async function detectOut(layer: Embedding, input: IndexInput, length: number): Promise<string | undefined> {
  const out = new Float32Array(length);
  try {
    const predict = layer.predict as (x: IndexInput, options?: { out?: Float32Array }) => Promise<{ data: Float32Array }>;
    const result = await predict.call(layer, input, { out });
    return result.data === out ? undefined : 'predict(x, { out }) is not in the public API yet (it returns a fresh output)';
  } catch (error) {
    return `predict(x, { out }) rejected: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
}

async function backendSubject(id: string, { workload: w, table, indices }: SubjectInput): Promise<Subject> {
  const known = KNOWN_BACKENDS.find((b) => b.name === id)!;
  let backend: Awaited<ReturnType<typeof known.create>>;
  try {
    backend = await known.create();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new SkipTarget(`${known.packageName} is not installed`);
    throw new SkipTarget(`${known.packageName} is not usable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const start = performance.now();
  // shareWeights: as torch's from_pretrained shares the caller's tensor; a backend whose table
  // lives elsewhere (WebAssembly memory, TF.js, Redis) copies it anyway (describe().sharesWeights).
  const layer = await Embedding.create(
    { inputDim: w.inputDim, outputDim: w.outputDim },
    { backend, weights: [table!], shareWeights: true },
  );
  const createMs = performance.now() - start;
  const rssAfterCreate = process.memoryUsage().rss;
  const input: IndexInput = { data: indices, shape: [w.batch, w.sequence] };
  const length = indices.length * w.outputDim;
  const outNote = await detectOut(layer, input, length);
  const predictOut = layer.predict as (x: IndexInput, options: { out: Float32Array }) => Promise<{ data: Float32Array }>;
  // Each fresh output is disposed when the next call starts, as the torch loop drops its tensor
  // when the call returns (core reuses a disposed output's memory for the next one, as torch's
  // allocator does; disposing only after the next output exists kept two outputs alive, 1 GiB
  // at L, which torch never does). Every backend of ours, as every one has dispose().
  let previous: { dispose?: () => void } | null = null;
  const shares = layer.describe().sharesWeights === true;
  return {
    createMs,
    rssAfterCreate,
    run: async () => {
      previous?.dispose?.();
      previous = null;
      const y = await layer.predict(input);
      previous = y;
      return y.data;
    },
    note: [
      ...(shares ? ["created with shareWeights: true, keeps the caller's table (as torch's from_pretrained)"] : []),
      'fresh: each output disposed when the next call starts (as torch drops its tensor when the call returns)',
    ].join('; '),
    ...(outNote === undefined
      ? {
          runOut: async (out: Float32Array) => (await predictOut.call(layer, input, { out })).data,
          outBuffer: () => layer.allocateOutput([w.batch, w.sequence]),
        }
      : { outNote }),
    checkable: true,
    dispose: () => layer.dispose(),
  };
}

async function gatherSubject(device: 'cpu' | 'wasm', { workload: w, table, indices }: SubjectInput): Promise<Subject> {
  const tf = await loadTf(device);
  const start = performance.now();
  const tableTensor = tf.tensor2d(table!, [w.inputDim, w.outputDim], 'float32');
  if (device === 'wasm') tableTensor.dataSync(); // make sure the upload happened before the clock stops
  const createMs = performance.now() - start;
  return {
    createMs,
    run: () => {
      const idx = tf.tensor2d(indices, [w.batch, w.sequence], 'int32');
      const y = tf.gather(tableTensor, idx);
      const data = y.dataSync();
      idx.dispose();
      y.dispose();
      return data;
    },
    outNote: 'tf.gather has no output argument',
    checkable: true,
    dispose: () => tableTensor.dispose(),
  };
}

async function layersSubject(device: 'cpu' | 'wasm', { workload: w, table, indices }: SubjectInput): Promise<Subject> {
  const tf = await loadTf(device);
  const start = performance.now();
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: w.inputDim, outputDim: w.outputDim, inputLength: w.sequence, embeddingsInitializer: 'zeros' }));
  const weights = tf.tensor2d(table!, [w.inputDim, w.outputDim], 'float32');
  model.layers[0].setWeights([weights]);
  weights.dispose();
  const createMs = performance.now() - start;
  return {
    createMs,
    run: () => {
      const idx = tf.tensor2d(indices, [w.batch, w.sequence], 'int32');
      const y = model.predict(idx, { batchSize: w.batch });
      const data = y.dataSync();
      idx.dispose();
      y.dispose();
      return data;
    },
    outNote: 'model.predict has no output argument',
    checkable: true,
    dispose: () => model.dispose(),
  };
}

async function ortSubject({ workload: w, table, indices }: SubjectInput): Promise<Subject> {
  const ortModule = await importOptional('onnxruntime-node', 'onnxruntime-node');
  const ort = (ortModule.InferenceSession ? ortModule : ortModule.default) as Module;
  const onnx = await importOptional('@embedding-layer/adapter-onnx', '@embedding-layer/adapter-onnx');
  if (typeof onnx.buildEmbeddingModel !== 'function')
    throw new SkipTarget('@embedding-layer/adapter-onnx does not export buildEmbeddingModel yet');
  const start = performance.now();
  let model: Uint8Array | null = onnx.buildEmbeddingModel(resolveConfig({ inputDim: w.inputDim, outputDim: w.outputDim }), table!);
  const buildMs = performance.now() - start;
  // The layer's own session options (adapter-onnx's defaults), so the ratio is the layer's overhead, not a thread count.
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: BENCH_THREADS,
  });
  model = null;
  const createMs = performance.now() - start;
  const feeds = () => ({ indices: new ort.Tensor('int32', indices, [w.batch, w.sequence]) });
  const shape = [w.batch, w.sequence, w.outputDim];
  return {
    createMs,
    run: async () => (await session.run(feeds())).output.data,
    runOut: async (out: Float32Array) => {
      await session.run(feeds(), { output: new ort.Tensor('float32', out, shape) });
      return out;
    },
    checkable: true,
    note: `create = buildEmbeddingModel ${buildMs.toFixed(0)} ms + InferenceSession.create ${(createMs - buildMs).toFixed(0)} ms; session on ${BENCH_THREADS} intra-op thread(s), as adapter-onnx's default`,
    dispose: () => session.release(),
  };
}

/** Bytes from one page boundary to the next: loads and stores whose addresses agree modulo this can falsely depend on each other. */
const PAGE = 4096;

/**
 * Source and destination of `length` floats in one ArrayBuffer, the destination starting half a
 * page after the source modulo a page: when the two lie a multiple of 4 KiB (or a little less)
 * apart, the CPU can take each load for one that depends on a store just made (4K aliasing; on
 * this AMD host a copy of 80 kB then took 29 µs instead of 1.7 µs, depending on where the heap
 * happened to put two separate buffers). Their relative place is what matters, and only inside
 * one ArrayBuffer can it be chosen.
 */
export function copyPair(length: number): { src: Float32Array; dst: Float32Array } {
  const bytes = length * 4;
  const gap = ((PAGE - (bytes % PAGE)) % PAGE) + PAGE / 2;
  const buffer = new ArrayBuffer(2 * bytes + gap);
  return { src: new Float32Array(buffer, 0, length), dst: new Float32Array(buffer, bytes + gap, length) };
}

function copySubject({ workload: w }: SubjectInput, length: number): Subject {
  const large = length * 4 > 64 * 2 ** 20;
  // Large buffers are mappings of their own, page-aligned: their copy does not alias.
  const { src, dst } = large ? { src: new Float32Array(length), dst: new Float32Array(length) } : copyPair(length);
  src.fill(0.5);
  // Touched once, so the limit measures copying, not the first-touch page faults of a fresh buffer.
  dst.fill(0);
  const methods: Record<string, () => unknown> = { 'TypedArray.set': () => dst.set(src) };
  if (!large) {
    // copyWithin inside the same buffer, from the source's place to the destination's.
    const whole = new Float32Array(src.buffer);
    const from = src.byteOffset / 4;
    const to = dst.byteOffset / 4;
    const srcBuffer = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    const dstBuffer = Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength);
    const src64 = length % 2 === 0 ? new Float64Array(src.buffer, src.byteOffset, length / 2) : null;
    const dst64 = length % 2 === 0 ? new Float64Array(dst.buffer, dst.byteOffset, length / 2) : null;
    methods['copyWithin'] = () => whole.copyWithin(to, from, from + length);
    methods['Buffer.copy'] = () => srcBuffer.copy(dstBuffer);
    methods['for loop (Float32)'] = () => {
      for (let i = 0; i < length; i++) dst[i] = src[i]!;
    };
    if (src64 && dst64)
      methods['for loop (Float64 view)'] = () => {
        for (let i = 0; i < src64.length; i++) dst64[i] = src64[i]!;
      };
  }
  return {
    run: methods['TypedArray.set']!,
    methods,
    checkable: false,
    ...(large ? { note: `one TypedArray.set of ${w.name}'s output bytes` } : {}),
    dispose: () => undefined,
  };
}

function allocCopySubject(length: number): Subject {
  const src = new Float32Array(length).fill(0.5);
  const run = () => {
    const out = new Float32Array(length);
    out.set(src);
    return out;
  };
  return {
    run,
    methods: { 'new Float32Array + set': run },
    checkable: false,
    dispose: () => undefined,
  };
}

/** Whether a target needs the source table in the child (the copies do not). */
export function needsTable(target: string): boolean {
  return target !== 'copy' && target !== 'alloc+copy' && target !== 'torch';
}

/** Sets up `target` on the workload in this process. Throws {@link SkipTarget} when it cannot run here. */
export async function createSubject(target: string, input: SubjectInput): Promise<Subject> {
  const length = input.indices.length * input.workload.outputDim;
  switch (target) {
    case 'copy':
      return copySubject(input, length);
    case 'alloc+copy':
      return allocCopySubject(length);
    case 'js':
    case 'tfjs-cpu':
    case 'tfjs-wasm':
    case 'onnx':
    case 'redis':
      return backendSubject(target, input);
    case 'tf.gather@cpu':
      return gatherSubject('cpu', input);
    case 'tf.gather@wasm':
      return gatherSubject('wasm', input);
    case 'tf.layers.embedding@cpu':
      return layersSubject('cpu', input);
    case 'tf.layers.embedding@wasm':
      return layersSubject('wasm', input);
    case 'ort-session':
      return ortSubject(input);
    default:
      throw new Error(`No subject for target ${JSON.stringify(target)}.`);
  }
}

/** Loads the runtime a target uses before the memory baseline is taken, so module code does not count as table memory. */
export async function preload(target: string): Promise<void> {
  try {
    if (target.endsWith('@cpu') || target === 'tfjs-cpu') await loadTf('cpu');
    if (target.endsWith('@wasm') || target === 'tfjs-wasm') await loadTf('wasm');
    if (target === 'onnx' || target === 'ort-session') await importOptional('onnxruntime-node', 'onnxruntime-node');
  } catch {
    // createSubject reports it.
  }
}
