// Lookup benchmark of @embedding-layer/adapter-tfjs against TF.js's own kernels and the copy limit,
// all measured in the same process, on one TF.js backend (TF.js has one active backend per process).
//
//   npx turbo run build --filter=@embedding-layer/adapter-tfjs
//   node --expose-gc packages/adapter-tfjs/bench/lookup.mjs --backend cpu --workload S,M,L [--samples 5] [--json out.json]
//
// Workloads are those of `embedding-layer bench`: S 1000x64 with 32x10 indices, M 50,000x128
// with 256x64, L 1,000,000x256 with 4096x128. Every target produces the same output bytes;
// ratios are to the fastest copy of those bytes into a preallocated buffer (TypedArray.set).
import { Embedding } from '@embedding-layer/core';
import * as tfModule from '@tensorflow/tfjs';
import { createTfjsBackend, lookupTensor, registerEmbeddingLayer } from '../dist/index.js';

const tf = tfModule.default && typeof tfModule.default.gather === 'function' ? tfModule.default : tfModule;

const WORKLOADS = {
  S: { inputDim: 1_000, outputDim: 64, batch: 32, sequence: 10 },
  M: { inputDim: 50_000, outputDim: 128, batch: 256, sequence: 64 },
  L: { inputDim: 1_000_000, outputDim: 256, batch: 4_096, sequence: 128 },
};

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const backendName = arg('backend', 'cpu');
const workloads = arg('workload', 'S,M').split(',');
const samples = Number(arg('samples', '5'));
const jsonPath = arg('json', undefined);
/** Targets slower than this per call are sampled fewer times (tf.gather at L takes tens of seconds). */
const SLOW_MS = 2_000;

/** A seeded xorshift generator, so every run looks up the same rows. */
function random(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const gc = globalThis.gc ?? (() => {});

/**
 * Times `fn` (sync or async): calls are grouped so one sample lasts >= 20 ms, `samples` samples
 * after a warm-up. Returns per-call wall ms and per-call CPU ms of this process (user + system,
 * `process.cpuUsage`: less disturbed than wall time when other processes share the cores), each
 * as the median over the samples, with the wall min and max.
 */
async function time(fn, { slow = false } = {}) {
  const first = performance.now();
  await fn();
  const once = performance.now() - first;
  const n = slow || once > SLOW_MS ? Math.min(samples, 2) : samples;
  const perSample = Math.max(1, Math.ceil(20 / Math.max(once, 1e-3)));
  if (once <= SLOW_MS) for (let i = 0; i < Math.min(perSample, 50); i++) await fn(); // warm-up (JIT)
  const wall = [];
  const cpu = [];
  for (let s = 0; s < n; s++) {
    gc();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < perSample; i++) await fn();
    wall.push((performance.now() - t0) / perSample);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / perSample);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { median: median(wall), min: Math.min(...wall), max: Math.max(...wall), cpu: median(cpu), samples: n };
}

function sameBits(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

async function runWorkload(name) {
  const w = WORKLOADS[name];
  const next = random(42);
  const table = new Float32Array(w.inputDim * w.outputDim);
  for (let i = 0; i < table.length; i++) table[i] = next() * 2 - 1;
  const ids = new Int32Array(w.batch * w.sequence);
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(next() * w.inputDim);
  const length = ids.length * w.outputDim;
  const input = { data: ids, shape: [w.batch, w.sequence] };
  const expected = new Float32Array(length);
  for (let i = 0; i < ids.length; i++) expected.set(table.subarray(ids[i] * w.outputDim, (ids[i] + 1) * w.outputDim), i * w.outputDim);

  const results = {};
  const record = async (target, fn, check, options) => {
    if (check) {
      const data = await check();
      if (!sameBits(data, expected)) throw new Error(`${name}/${target}: output differs from the reference rows`);
    }
    results[target] = await time(fn, options);
    const r = results[target];
    console.error(
      `  ${name} ${target}: ${r.median.toFixed(3)} ms (min ${r.min.toFixed(3)}, max ${r.max.toFixed(3)}), cpu ${r.cpu.toFixed(3)} ms`,
    );
  };

  // The copy limit: the same output bytes into a preallocated buffer, and into a fresh one.
  {
    const src = expected;
    const dst = new Float32Array(length);
    await record('copy', () => dst.set(src));
    await record('alloc+copy', () => new Float32Array(length).set(src));
  }

  // Our backend face: Embedding.predict through core (validation included), and lookupTensor.
  for (const fastPath of [true, false]) {
    const suffix = fastPath ? '' : ' (fastPath: false)';
    if (!fastPath && name === 'L' && backendName === 'cpu') continue; // = tf.gather plus validation; tens of seconds per call
    if (!fastPath && backendName !== 'cpu') continue; // no fast path there: the same code
    const backend = await createTfjsBackend({ backend: backendName, fastPath });
    const layer = await Embedding.create({ inputDim: w.inputDim, outputDim: w.outputDim }, { backend, weights: [table] });
    await record(
      `predict${suffix}`,
      async () => (await layer.predict(input)).data,
      async () => (await layer.predict(input)).data,
    );
    const out = new Float32Array(length);
    await record(
      `predict into out${suffix}`,
      async () => layer.predict(input, { out }),
      async () => (await layer.predict(input, { out })).data,
    );
    const tensorIn = () => {
      const idx = tf.tensor2d(ids, [w.batch, w.sequence], 'int32');
      const y = lookupTensor(layer, idx);
      const data = y.dataSync();
      tf.dispose([idx, y]);
      return data;
    };
    await record(`lookupTensor${suffix}`, tensorIn, tensorIn);
    await layer.dispose();
  }

  // Our tf.layers.Layer face: in a tf.sequential model, model.predict, as tf.layers.embedding below.
  {
    const Layer = registerEmbeddingLayer(tf);
    const model = tf.sequential();
    model.add(new Layer({ inputDim: w.inputDim, outputDim: w.outputDim, inputLength: w.sequence, embeddingsInitializer: 'zeros' }));
    const weights = tf.tensor2d(table, [w.inputDim, w.outputDim], 'float32');
    model.layers[0].setWeights([weights]);
    weights.dispose();
    const run = () => {
      const idx = tf.tensor2d(ids, [w.batch, w.sequence], 'int32');
      const y = model.predict(idx, { batchSize: w.batch });
      const data = y.dataSync();
      tf.dispose([idx, y]);
      return data;
    };
    await record('layer model.predict', run, run);
    model.dispose();
  }

  // TF.js's own: tf.gather on a table tensor, and tf.layers.embedding in a tf.sequential model.
  {
    const tableTensor = tf.tensor2d(table, [w.inputDim, w.outputDim], 'float32');
    const run = () => {
      const idx = tf.tensor2d(ids, [w.batch, w.sequence], 'int32');
      const y = tf.gather(tableTensor, idx);
      const data = y.dataSync();
      tf.dispose([idx, y]);
      return data;
    };
    await record('tf.gather', run, run, { slow: name === 'L' });
    tableTensor.dispose();
  }
  {
    const model = tf.sequential();
    model.add(
      tf.layers.embedding({ inputDim: w.inputDim, outputDim: w.outputDim, inputLength: w.sequence, embeddingsInitializer: 'zeros' }),
    );
    const weights = tf.tensor2d(table, [w.inputDim, w.outputDim], 'float32');
    model.layers[0].setWeights([weights]);
    weights.dispose();
    const run = () => {
      const idx = tf.tensor2d(ids, [w.batch, w.sequence], 'int32');
      const y = model.predict(idx, { batchSize: w.batch });
      const data = y.dataSync();
      tf.dispose([idx, y]);
      return data;
    };
    await record('tf.layers.embedding predict', run, run, { slow: name === 'L' });
    model.dispose();
  }
  return results;
}

function ratio(a, b, key = 'median') {
  if (a === undefined || b === undefined) return '-';
  const r = a[key] / b[key];
  return r < 1 ? r.toFixed(3) : r.toFixed(1);
}

const report = { backend: backendName, date: new Date().toISOString(), node: process.version, workloads: {} };
await createTfjsBackend({ backend: backendName });
for (const name of workloads) {
  console.error(`${name} on TF.js ${backendName}...`);
  report.workloads[name] = await runWorkload(name);
  gc();
}

const lines = [
  `TF.js ${backendName}, ${report.date}. Per call: median wall ms and median CPU ms of the process (wall / cpu in the ratio columns).`,
  '',
  '| workload | target | wall ms | cpu ms | x copy | tf.layers.embedding / target | tf.gather / target |',
  '|---|---|---:|---:|---:|---:|---:|',
];
for (const [name, results] of Object.entries(report.workloads)) {
  const { copy } = results;
  const layers = results['tf.layers.embedding predict'];
  const gather = results['tf.gather'];
  for (const [target, r] of Object.entries(results)) {
    const both = (a, b) => `${ratio(a, b)} / ${ratio(a, b, 'cpu')}`;
    lines.push(
      `| ${name} | ${target} | ${r.median.toFixed(3)} | ${r.cpu.toFixed(3)} | ${both(r, copy)} | ${both(layers, r)} | ${both(gather, r)} |`,
    );
  }
}
console.log(lines.join('\n'));
if (jsonPath) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
}
