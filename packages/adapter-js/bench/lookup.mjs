#!/usr/bin/env node
// Lookup benchmark of @embedding-layer/adapter-js (run `npm run build` first):
//   node bench/lookup.mjs [S,M,L,XL] [--paths wasm,workers,js,sharded] [--rounds 5]
// Per workload, in one process, interleaved round by round: the copy limit (one
// TypedArray.set of the output's bytes into a preallocated buffer), alloc+copy (new
// Float32Array + set), and layer.predict through the public API on each code path, into a
// caller's buffer and with a fresh output. Prints medians and ratios to the limits; ratios
// are what to compare across machines (timings on a shared machine are noisy).
import { Embedding } from '@embedding-layer/core';
import { toIndexTensor } from '@embedding-layer/core/backend';
import { createJsBackend } from '../dist/index.js';

const WORKLOADS = {
  S: { inputDim: 1000, outputDim: 64, batch: 32, sequence: 10, calls: 2000 },
  M: { inputDim: 50_000, outputDim: 128, batch: 256, sequence: 64, calls: 40 },
  L: { inputDim: 1_000_000, outputDim: 256, batch: 4096, sequence: 128, calls: 3 },
  XL: { inputDim: 50_000, outputDim: 128, batch: 8192, sequence: 256, calls: 3 },
};
const PATHS = {
  wasm: { kernel: 'wasm', workers: 0 },
  workers: { kernel: 'wasm', workers: 1, workerThreshold: 0 },
  js: { kernel: 'js' },
  sharded: { shardBytes: 2 ** 24 },
};
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const names = (args[0] && !args[0].startsWith('--') ? args[0] : 'S,M,L,XL').split(',');
const paths = option('--paths', 'wasm,workers,js').split(',');
const rounds = Number(option('--rounds', '5'));

/** xorshift32 indices, uniform over the rows. */
function indices(n, rows, seed = 12345) {
  const ids = new Int32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    ids[i] = (x >>> 0) % rows;
  }
  return ids;
}

async function time(fn, calls) {
  const t = [];
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

const push = (obj, key, value) => {
  obj[key] = obj[key] ?? [];
  obj[key].push(value);
};
const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
const range = (xs) =>
  `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}x (median ${xs.sort((a, b) => a - b)[xs.length >> 1].toFixed(2)}x)`;

for (const name of names) {
  const w = WORKLOADS[name];
  const n = w.batch * w.sequence;
  const length = n * w.outputDim;
  const weights = new Float32Array(w.inputDim * w.outputDim);
  for (let i = 0; i < weights.length; i++) weights[i] = (i % 1000) / 1000;
  const input = { data: indices(n, w.inputDim), shape: [w.batch, w.sequence] };
  const layers = {};
  for (const p of paths)
    layers[p] = await Embedding.create(
      { inputDim: w.inputDim, outputDim: w.outputDim },
      { backend: createJsBackend(PATHS[p]), weights: [weights] },
    );
  const src = new Float32Array(length).fill(1);
  const dst = new Float32Array(length);
  const out = new Float32Array(length);
  const warm = Math.min(w.calls, 5);
  const ratios = {};
  const times = {};
  for (let r = 0; r < rounds; r++) {
    // Core's validation alone (toIndexTensor over the same input), to see what bounds small lookups.
    push(times, 'core validation', await time(() => toIndexTensor(input, w.inputDim), Math.max(w.calls, 10)));
    const copy = await time(() => dst.set(src), Math.max(w.calls, 10));
    const alloc = await time(() => new Float32Array(length).set(src), w.calls);
    push(times, 'copy', copy);
    push(times, 'alloc+copy', alloc);
    for (const p of paths) {
      await time(() => layers[p].predict(input, { out }), warm);
      const into = await time(() => layers[p].predict(input, { out }), w.calls);
      const fresh = await time(() => layers[p].predict(input), w.calls);
      push(ratios, `${p} into / copy`, into / copy);
      push(ratios, `${p} fresh / alloc+copy`, fresh / alloc);
      push(times, `${p} into`, into);
      push(times, `${p} fresh`, fresh);
    }
  }
  console.log(
    `\n${name}: table ${w.inputDim} x ${w.outputDim}, indices ${w.batch} x ${w.sequence}, output ${((length * 4) / 1e6).toFixed(2)} MB; ${rounds} rounds`,
  );
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(22)} ${v.map(fmt).join(', ')}`);
  for (const [k, v] of Object.entries(ratios)) console.log(`  ${k.padEnd(28)} ${range(v)}`);
  for (const l of Object.values(layers)) await l.dispose();
}
