import type { Target, Workload, WorkloadName } from './types.js';

/**
 * The workloads: S is the seed (`Embedding(1000, 64)` on a 32x10 batch); M a mid-size model;
 * L a 1 GB table; XL a 1 GiB output. L and XL are measured with few calls (each call moves
 * 0.5 to 1 GiB), so that a full run stays within minutes on 2 cores: 9, as medians of 5 moved by
 * up to 30% between runs.
 */
export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = {
  S: {
    name: 'S',
    inputDim: 1_000,
    outputDim: 64,
    batch: 32,
    sequence: 10,
    time: 500,
    iterations: 100,
    warmupTime: 100,
    warmupIterations: 50,
  },
  M: {
    name: 'M',
    inputDim: 50_000,
    outputDim: 128,
    batch: 256,
    sequence: 64,
    time: 500,
    iterations: 20,
    warmupTime: 50,
    warmupIterations: 3,
  },
  L: {
    name: 'L',
    inputDim: 1_000_000,
    outputDim: 256,
    batch: 4_096,
    sequence: 128,
    time: 0,
    iterations: 9,
    warmupTime: 0,
    warmupIterations: 1,
  },
  XL: {
    name: 'XL',
    inputDim: 50_000,
    outputDim: 128,
    batch: 8_192,
    sequence: 256,
    time: 0,
    iterations: 9,
    warmupTime: 0,
    warmupIterations: 1,
  },
};

/**
 * Threads our backends compute a lookup with in the bench: adapter-js's default (`workers: 0`)
 * gathers on the calling thread, so the torch peer is run on as many (`torch.set_num_threads`).
 */
export const BENCH_THREADS = 1;

/** Workload names in order. */
export const WORKLOAD_NAMES: readonly WorkloadName[] = ['S', 'M', 'L', 'XL'];

/** Bytes of a workload's table and of one lookup's output (float32). */
export function workloadBytes(w: Workload): { tableBytes: number; outputBytes: number } {
  return { tableBytes: w.inputDim * w.outputDim * 4, outputBytes: w.batch * w.sequence * w.outputDim * 4 };
}

/** Everything measured on each workload, in report order. */
export const TARGETS: readonly Target[] = [
  {
    id: 'copy',
    kind: 'limit',
    description:
      'copy of the output bytes into a preallocated buffer (fastest of several methods on S and M; one TypedArray.set on L and XL)',
  },
  { id: 'alloc+copy', kind: 'limit', description: 'new Float32Array(output length), then one TypedArray.set into it' },
  { id: 'js', kind: 'backend', description: 'Embedding.create + layer.predict on @embedding-layer/adapter-js' },
  { id: 'tfjs-cpu', kind: 'backend', description: 'Embedding.create + layer.predict on @embedding-layer/adapter-tfjs, TF.js cpu' },
  { id: 'tfjs-wasm', kind: 'backend', description: 'Embedding.create + layer.predict on @embedding-layer/adapter-tfjs, TF.js wasm' },
  { id: 'onnx', kind: 'backend', description: 'Embedding.create + layer.predict on @embedding-layer/adapter-onnx (onnxruntime-node)' },
  {
    id: 'redis',
    kind: 'backend',
    description:
      'Embedding.create + layer.predict on @embedding-layer/adapter-redis (the Redis named by EMBEDDING_LAYER_REDIS_NODES; skipped when unset)',
  },
  {
    id: 'tf.gather@cpu',
    kind: 'peer',
    peerOf: ['tfjs-cpu'],
    description: 'tf.tensor2d(indices) -> tf.gather(table, idx) -> dataSync(), TF.js cpu',
  },
  {
    id: 'tf.gather@wasm',
    kind: 'peer',
    peerOf: ['tfjs-wasm'],
    description: 'tf.tensor2d(indices) -> tf.gather(table, idx) -> dataSync(), TF.js wasm',
  },
  {
    id: 'tf.layers.embedding@cpu',
    kind: 'peer',
    peerOf: [],
    description: 'tf.sequential([tf.layers.embedding]).predict(idx, { batchSize: batch }) -> dataSync(), TF.js cpu',
  },
  {
    id: 'tf.layers.embedding@wasm',
    kind: 'peer',
    peerOf: [],
    description: 'tf.sequential([tf.layers.embedding]).predict(idx, { batchSize: batch }) -> dataSync(), TF.js wasm',
  },
  {
    id: 'ort-session',
    kind: 'peer',
    peerOf: ['onnx'],
    description: `bare onnxruntime-node InferenceSession of buildEmbeddingModel (table as initializer, ${BENCH_THREADS} intra-op thread(s) as adapter-onnx's default): run -> output.data`,
  },
  {
    id: 'torch',
    kind: 'peer',
    peerOf: ['js'],
    description: `PyTorch F.embedding(idx, weight) in the interpreter named by --python (out: torch.index_select(..., out=buf)), on ${BENCH_THREADS} thread(s) like ours`,
  },
];

/** The target with this id. */
export function targetById(id: string): Target {
  const t = TARGETS.find((x) => x.id === id);
  if (!t) throw new Error(`Unknown bench target ${JSON.stringify(id)}; known: ${TARGETS.map((x) => x.id).join(', ')}.`);
  return t;
}
