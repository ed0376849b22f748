#!/usr/bin/env node
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createTfjsBackend } from '@embedding-layer/adapter-tfjs';
// CPU time per lookup of adapter-tfjs on TF.js cpu against adapter-js, in one process, rounds
// alternating (issue 16: tfjs-cpu at most 1.2x js). Three subjects over the same table:
//   js          adapter-js (core's wasm kernel over its own memory)
//   tfjs-kernel adapter-tfjs cpu, the table in a WebAssembly memory TF.js holds as the variable's values (core's kernel)
//   tfjs-loop   adapter-tfjs cpu with the variable's values swapped for a plain Float32Array (the JavaScript row copy)
//   node bench/profile/tfjs-kernel-probe.mjs V,D,B,S fresh|out [rounds] [callsPerRound]
// Prints per-call CPU (user + system) medians over rounds and the median of per-round ratios.
import { Embedding } from '@embedding-layer/core';
import * as tf from '@tensorflow/tfjs';

const [dims = '1000,64,32,10', mode = 'out', roundsArg = '15', callsArg] = process.argv.slice(2);
const [V, D, B, S] = dims.split(',').map(Number);
const n = B * S;
const rounds = Number(roundsArg);
const calls = Number(callsArg ?? Math.max(1, Math.round(2e7 / (n * D))));
const table = new Float32Array(V * D).map((_, i) => (i % 997) / 1000);
const idx = new Int32Array(n).map((_, i) => (i * 7919) % V);
const input = { data: idx, shape: [B, S] };
const config = { inputDim: V, outputDim: D };

const loop = await Embedding.create(config, { backend: await createTfjsBackend({ backend: 'cpu' }), weights: [table] });
// Swap the variable's values for a plain copy: what TF.js holds after an assign of a tensor made elsewhere.
const cpu = tf.engine().backend;
for (const v of Object.values(tf.engine().state.registeredVariables)) {
  const entry = cpu.data.get(v.dataId);
  entry.values = entry.values.slice();
}
const kernel = await Embedding.create(config, { backend: await createTfjsBackend({ backend: 'cpu' }), weights: [table] });
const js = await Embedding.create(config, { backend: createJsBackend(), weights: [table] });
const subjects = { js, 'tfjs-kernel': kernel, 'tfjs-loop': loop };
const describeOf = (l) => (typeof l.describe === 'function' ? l.describe() : {});
console.log(`gather: tfjs-kernel ${describeOf(kernel).gather}, tfjs-loop ${describeOf(loop).gather}`);
const out = new Float32Array(n * D);
const want = (await js.predict(input)).data;
for (const [name, layer] of Object.entries(subjects)) {
  const got = (await layer.predict(input)).data;
  if (
    Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength)) !==
    0
  )
    throw new Error(`${name} differs from js`);
}
const call = (layer) => (mode === 'out' ? layer.predict(input, { out }) : layer.predict(input));
const per = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
for (let r = 0; r < rounds + 1; r++) {
  for (const [name, layer] of Object.entries(subjects)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) await call(layer);
    const c = process.cpuUsage(c0);
    if (r > 0) per[name].push((c.user + c.system) / calls);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`);
const line = [`${dims} ${mode}, ${rounds} rounds x ${calls} calls:`];
for (const name of Object.keys(subjects)) line.push(`${name} ${fmt(median(per[name]))}`);
for (const name of ['tfjs-kernel', 'tfjs-loop']) line.push(`${name}/js ${median(per[name].map((t, i) => t / per.js[i])).toFixed(2)}x`);
console.log(line.join('  '));
console.log(
  `load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
