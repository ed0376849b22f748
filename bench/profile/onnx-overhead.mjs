#!/usr/bin/env node
// adapter-onnx's per-call overhead over a bare session.run, in one process (issue 16).
//   node bench/profile/onnx-overhead.mjs V,D,B,S [rounds] [callsPerRound] [1t]
// (`1t`: leave out the session on ORT's default threads, one table copy fewer at L.)
// Alternating rounds of: layer.predict (fresh, out), the layer's own model run bare (table fed
// as an input, 1 intra-op thread: what the layer runs), and the bench's ort-session peer (table
// as an initializer) on 1 thread and on ORT's default threads. Prints the median wall and CPU
// microseconds per call of each and the ratios to the bare runs. Asserts nothing.
import { buildEmbeddingModel, createOnnxBackend } from '@embedding-layer/adapter-onnx';
import { Embedding, resolveConfig } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';

const [dims = '1000,64,32,10', roundsArg = '9', callsArg, only1t] = process.argv.slice(2);
const [V, D, B, S] = dims.split(',').map(Number);
const N = B * S;
const rounds = Number(roundsArg);
const calls = Number(callsArg ?? Math.max(3, Math.round(2e7 / (N * D))));
const table = new Float32Array(V * D).map((_, i) => (i % 997) / 1000);
const ids = new Int32Array(N).map((_, i) => (i * 7919) % V);
const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend: createOnnxBackend(), weights: [table] });
const input = { data: ids, shape: [B, S] };
const out = new Float32Array(N * D);
const one = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 };
const fed = await ort.InferenceSession.create(buildEmbeddingModel(layer.config, table, { table: 'input', inputShape: ['n'] }), one);
const initModel = buildEmbeddingModel(resolveConfig({ inputDim: V, outputDim: D }), table);
const init1 = await ort.InferenceSession.create(initModel, one);
const initDefault = only1t === '1t' ? null : await ort.InferenceSession.create(initModel, { executionProviders: ['cpu'] });
const tableTensor = new ort.Tensor('float32', table, [V, D]);
const outShape = [B, S, D];
const fns = {
  'predict fresh': () => layer.predict(input),
  'predict out': () => layer.predict(input, { out }),
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
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const fmt = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(1)} us`);
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
await layer.dispose();
