#!/usr/bin/env node
// A 10,000,000 x 128 float32 table (5.12 GB) on adapter-js, held as 1 GiB row shards (past
// one wasm32 memory). Not run in CI: it needs ~11 GB of RAM at its peak (core's v1 spec
// hands the initial weights to the backend as one Float32Array, which the backend copies
// into shards). Run after `npm run build`:
//   node --expose-gc bench/big-table.mjs [--rows 10000000] [--dim 128] [--full]
// Reports creation time, RSS over the table bytes, time per lookup (and per row) into a
// caller's buffer, a training step, row reads/writes through layer.readRows/writeRows, and with --full a
// whole-table setWeights and getWeights (each needs 2-3 tables of transient memory).
import { Embedding } from '@embedding-layer/core';
import { createJsBackend } from '../dist/index.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const rows = option('--rows', 10_000_000);
const dim = option('--dim', 128);
const full = args.includes('--full');
const tableBytes = rows * dim * 4;
const gc = globalThis.gc ?? (() => {});
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
const memory = (label) => {
  gc();
  const { rss, arrayBuffers } = process.memoryUsage();
  console.log(
    `  ${label}: RSS ${mb(rss)} (${(rss / tableBytes).toFixed(2)}x table), ArrayBuffers ${mb(arrayBuffers)} (${(arrayBuffers / tableBytes).toFixed(2)}x)`,
  );
};
function indices(n, seed) {
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
async function time(label, fn, calls, perRows) {
  const t = [];
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  const median = t[t.length >> 1];
  console.log(
    `  ${label}: median ${median.toFixed(2)} ms over ${calls} calls${perRows ? ` (${((median * 1e6) / perRows).toFixed(0)} ns per row)` : ''}`,
  );
  return median;
}

console.log(`table ${rows.toLocaleString()} x ${dim} float32 = ${mb(tableBytes)}; Node ${process.version}`);
memory('baseline');
let start = performance.now();
const layer = await Embedding.create({ inputDim: rows, outputDim: dim, seed: 1 }, { backend: createJsBackend() });
console.log(`  create (core's initializer + copy into shards): ${((performance.now() - start) / 1000).toFixed(1)} s`);
const table = layer.describe();
console.log(`  path ${table.path}, ${table.shardCount} shards of ${table.shardRows.toLocaleString()} rows`);
memory('after create');

for (const [name, batch, seq] of [
  ['M-shaped lookup (256 x 64)', 256, 64],
  ['L-shaped lookup (4096 x 128)', 4096, 128],
]) {
  const n = batch * seq;
  const input = { data: indices(n, 99), shape: [batch, seq] };
  const out = new Float32Array(n * dim);
  const src = new Float32Array(n * dim).fill(1);
  await time(`${name}, copy limit (TypedArray.set of the output bytes)`, () => out.set(src), 5);
  await layer.predict(input, { out });
  await time(`${name} into a caller's buffer`, () => layer.predict(input, { out }), n > 100_000 ? 3 : 20, n);
  // Spot check against the accessor.
  const r = input.data[n - 1];
  const row = await layer.readRows(r, 1);
  for (let c = 0; c < dim; c++) if (row[c] !== out[(n - 1) * dim + c]) throw new Error('lookup mismatch');
}
memory('after lookups');

layer.compile('sgd', 'mse');
const x = { data: indices(32 * 10, 7), shape: [32, 10] };
const y = new Float32Array(32 * 10 * dim).fill(0.5);
await time('training step (trainOnBatch, 32 x 10, sgd/mse)', () => layer.trainOnBatch(x, y), 10);
await time('layer.readRows (10,000 rows)', () => layer.readRows(rows - 10_000, 10_000), 5);
const middle = Math.floor(rows / 2);
const block = await layer.readRows(middle, 10_000);
await time('layer.writeRows (10,000 rows)', () => layer.writeRows(middle, block), 5);
memory('after training');

if (full) {
  start = performance.now();
  const w = (await layer.getWeights())[0];
  console.log(`  getWeights: ${((performance.now() - start) / 1000).toFixed(1)} s, ${w.length.toLocaleString()} floats`);
  memory('holding getWeights');
  start = performance.now();
  await layer.setWeights([w]);
  console.log(`  setWeights: ${((performance.now() - start) / 1000).toFixed(1)} s`);
}
await layer.dispose();
memory('after dispose');
