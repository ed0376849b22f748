#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
// adapter-onnx's per-call overhead over a bare session.run, in one process (issue 16).
//   node bench/profile/onnx-overhead.mjs V,D,B,S [rounds] [callsPerRound] [1t]
// (`1t`: leave out the session on ORT's default threads, one table copy fewer at L.)
//   node bench/profile/onnx-overhead.mjs V,D,B,S [rounds] [callsPerRound] fresh
// (`fresh`: each subject in a fresh process of its own, as the CLI bench runs targets, processes
// alternating round by round; reports CPU time and minor page faults per call. A process's
// malloc state is part of what is measured there: see adapter-onnx's raiseMallocThresholds.
// ONNX_SUBJECTS=predict,'predict shared',ort-session (comma-separated) runs only those.)
// Alternating rounds of: layer.predict (fresh, out), the layer's own model run bare (table fed
// as an input, 1 intra-op thread: what the layer runs), and the bench's ort-session peer (table
// as an initializer) on 1 thread and on ORT's default threads. Prints the median wall and CPU
// microseconds per call of each and the ratios to the bare runs. Asserts nothing.
import { buildEmbeddingModel, createOnnxBackend } from '@embedding-layer/adapter-onnx';
import { Embedding, resolveConfig } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';

const [dims = '1000,64,32,10', roundsArg = '9', callsArg, mode] = process.argv.slice(2);
const only1t = mode;
const [V, D, B, S] = dims.split(',').map(Number);
const N = B * S;
const rounds = Number(roundsArg);
const calls = Number(callsArg ?? Math.max(3, Math.round(2e7 / (N * D))));
// Filled by loops: `new Float32Array(n).map(...)` frees a table-sized temporary, and freeing a
// block of 128 KiB-32 MiB raises glibc's malloc thresholds for the rest of the process.
const table = new Float32Array(V * D);
for (let i = 0; i < table.length; i++) table[i] = (i % 997) / 1000;
const ids = new Int32Array(N);
for (let i = 0; i < N; i++) ids[i] = (i * 7919) % V;
const one = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 };
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const fmt = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(1)} us`);

/** Fresh-process subjects: each sets up one thing (as the bench's child does) and returns its fresh and out calls. */
const FRESH = {
  async predict(raiseMallocThresholds = true) {
    const backend = createOnnxBackend({ raiseMallocThresholds });
    const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend, weights: [table] });
    const input = { data: ids, shape: [B, S] };
    return { fresh: () => layer.predict(input), out: (out) => layer.predict(input, { out }) };
  },
  'predict raiseMallocThresholds:false': () => FRESH.predict(false),
  async 'predict shared'() {
    // The caller's table shared (shareWeights: true): the session is fed the bench's own array.
    const layer = await Embedding.create(
      { inputDim: V, outputDim: D },
      { backend: createOnnxBackend(), weights: [table], shareWeights: true },
    );
    const input = { data: ids, shape: [B, S] };
    return { fresh: () => layer.predict(input), out: (out) => layer.predict(input, { out }) };
  },
  async 'bare fed'() {
    // The layer's own graph (table fed) run bare, with the process primed as the layer primes it.
    await Embedding.create({ inputDim: 1, outputDim: 1 }, { backend: createOnnxBackend() });
    const session = await ort.InferenceSession.create(
      buildEmbeddingModel(resolveConfig({ inputDim: V, outputDim: D }), table, { table: 'input', inputShape: ['n'] }),
      one,
    );
    const tableTensor = new ort.Tensor('float32', table, [V, D]);
    const feeds = () => ({ indices: new ort.Tensor('int32', ids, [N]), embeddings: tableTensor });
    return {
      fresh: () => session.run(feeds()),
      out: (out) => session.run(feeds(), { output: new ort.Tensor('float32', out, [N, D]) }),
    };
  },
  async 'ort-session'() {
    // The bench's peer: the table as an initializer; the model bytes are dropped after creation.
    let model = buildEmbeddingModel(resolveConfig({ inputDim: V, outputDim: D }), table);
    const session = await ort.InferenceSession.create(model, one);
    model = null;
    const feeds = () => ({ indices: new ort.Tensor('int32', ids, [B, S]) });
    return {
      fresh: () => session.run(feeds()),
      out: (out) => session.run(feeds(), { output: new ort.Tensor('float32', out, [B, S, D]) }),
    };
  },
};

if (mode?.startsWith('child:')) {
  const { fresh, out: intoOut } = await FRESH[mode.slice(6)]();
  const out = new Float32Array(N * D);
  const result = {};
  for (const [name, fn] of [
    ['fresh', fresh],
    ['out', () => intoOut(out)],
  ]) {
    for (let i = 0; i < Math.min(calls, 50); i++) await fn();
    const f0 = process.resourceUsage().minorPageFault;
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) await fn();
    const c = process.cpuUsage(c0);
    result[name] = {
      cpu: (c.user + c.system) / calls,
      sys: c.system / calls,
      faults: (process.resourceUsage().minorPageFault - f0) / calls,
    };
  }
  console.log(JSON.stringify(result));
  process.exit(0);
}

if (mode === 'fresh') {
  const script = fileURLToPath(import.meta.url);
  const names = process.env.ONNX_SUBJECTS ? process.env.ONNX_SUBJECTS.split(',') : Object.keys(FRESH);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const stdout = execFileSync(process.execPath, [script, dims, '1', String(calls), `child:${n}`], { encoding: 'utf8' });
      runs[n].push(JSON.parse(stdout.trim().split('\n').pop()));
    }
  }
  console.log(`${dims}: ${calls} calls per process, ${rounds} processes per subject (alternating)`);
  for (const n of names) {
    for (const k of ['fresh', 'out']) {
      const cpu = median(runs[n].map((x) => x[k].cpu));
      const sys = median(runs[n].map((x) => x[k].sys));
      const faults = median(runs[n].map((x) => x[k].faults));
      const range = runs[n].map((x) => fmt(x[k].cpu)).join(', ');
      console.log(`${`${n} ${k}`.padEnd(44)} cpu ${fmt(cpu).padStart(9)} (sys ${fmt(sys)}, ${faults.toFixed(0)} faults/call)  [${range}]`);
    }
  }
  for (const k of ['fresh', 'out']) {
    const peer = runs['ort-session'].map((x) => x[k].cpu);
    const ratio = (n) => (runs[n] ? median(runs[n].map((x, i) => x[k].cpu / peer[i])).toFixed(2) : '-');
    console.log(
      `${k}: predict / ort-session ${ratio('predict')}x; predict shared / ort-session ${ratio('predict shared')}x; raiseMallocThresholds:false / ort-session ${ratio('predict raiseMallocThresholds:false')}x; bare fed / ort-session ${ratio('bare fed')}x (CPU, median of per-round ratios)`,
    );
  }
  process.exit(0);
}

const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend: createOnnxBackend(), weights: [table] });
// The layer on the session fed the table (what tables over inlineTableMaxBytes, or written ones, run).
const layerFed = await Embedding.create(
  { inputDim: V, outputDim: D },
  { backend: createOnnxBackend({ inlineTableMaxBytes: 0 }), weights: [table] },
);
const input = { data: ids, shape: [B, S] };
const out = new Float32Array(N * D);
const fed = await ort.InferenceSession.create(buildEmbeddingModel(layer.config, table, { table: 'input', inputShape: ['n'] }), one);
const initModel = buildEmbeddingModel(resolveConfig({ inputDim: V, outputDim: D }), table);
const init1 = await ort.InferenceSession.create(initModel, one);
const initDefault = only1t === '1t' ? null : await ort.InferenceSession.create(initModel, { executionProviders: ['cpu'] });
const tableTensor = new ort.Tensor('float32', table, [V, D]);
const outShape = [B, S, D];
const fns = {
  'predict fresh': () => layer.predict(input),
  'predict out': () => layer.predict(input, { out }),
  'predict fed table': () => layerFed.predict(input),
  'predict fed table out': () => layerFed.predict(input, { out }),
  'bare fed 1t': () => fed.run({ indices: new ort.Tensor('int32', ids, [N]), embeddings: tableTensor }),
  'bare fed 1t out': () =>
    fed.run({ indices: new ort.Tensor('int32', ids, [N]), embeddings: tableTensor }, { output: new ort.Tensor('float32', out, [N, D]) }),
  'ort-session 1t': () => init1.run({ indices: new ort.Tensor('int32', ids, [B, S]) }),
  'ort-session 1t out': () =>
    init1.run({ indices: new ort.Tensor('int32', ids, [B, S]) }, { output: new ort.Tensor('float32', out, outShape) }),
  ...(initDefault
    ? {
        'ort-session default': () => initDefault.run({ indices: new ort.Tensor('int32', ids, [B, S]) }),
        'ort-session default out': () =>
          initDefault.run({ indices: new ort.Tensor('int32', ids, [B, S]) }, { output: new ort.Tensor('float32', out, outShape) }),
      }
    : {}),
};
const names = Object.keys(fns);
const wall = Object.fromEntries(names.map((n) => [n, []]));
const cpu = Object.fromEntries(names.map((n) => [n, []]));
for (const n of names) for (let i = 0; i < Math.min(calls, 50); i++) await fns[n]();
for (let r = 0; r < rounds; r++) {
  for (const n of names) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fns[n]();
    const c = process.cpuUsage(c0);
    wall[n].push(((performance.now() - t0) * 1000) / calls);
    cpu[n].push((c.user + c.system) / calls);
  }
}
console.log(`${dims}: ${calls} calls x ${rounds} rounds`);
for (const n of names) console.log(`${n.padEnd(24)} wall ${fmt(median(wall[n])).padStart(10)}  cpu ${fmt(median(cpu[n])).padStart(10)}`);
const ratio = (a, b) => (wall[b] ? median(wall[a].map((v, i) => v / wall[b][i])).toFixed(2) : '-');
const cpuRatio = (a, b) => median(cpu[a].map((v, i) => v / cpu[b][i])).toFixed(2);
console.log(
  `predict fresh / bare fed 1t ${ratio('predict fresh', 'bare fed 1t')}x; / ort-session 1t ${ratio('predict fresh', 'ort-session 1t')}x; / ort-session default ${ratio('predict fresh', 'ort-session default')}x`,
);
console.log(
  `predict out / bare fed 1t out ${ratio('predict out', 'bare fed 1t out')}x; / ort-session 1t out ${ratio('predict out', 'ort-session 1t out')}x; / ort-session default out ${ratio('predict out', 'ort-session default out')}x`,
);
console.log(
  `CPU time, median of per-round ratios: predict fresh / bare fed 1t ${cpuRatio('predict fresh', 'bare fed 1t')}x, / ort-session 1t ${cpuRatio('predict fresh', 'ort-session 1t')}x; ` +
    `predict out / bare fed 1t out ${cpuRatio('predict out', 'bare fed 1t out')}x, / ort-session 1t out ${cpuRatio('predict out', 'ort-session 1t out')}x`,
);
console.log(
  `CPU time, fed table (inlineTableMaxBytes 0): predict / bare fed 1t ${cpuRatio('predict fed table', 'bare fed 1t')}x, / ort-session 1t ${cpuRatio('predict fed table', 'ort-session 1t')}x; ` +
    `out / bare fed 1t out ${cpuRatio('predict fed table out', 'bare fed 1t out')}x, / ort-session 1t out ${cpuRatio('predict fed table out', 'ort-session 1t out')}x`,
);
await layer.dispose();
await layerFed.dispose();
