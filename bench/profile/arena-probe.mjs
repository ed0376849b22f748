#!/usr/bin/env node
import { createJsBackend } from '@embedding-layer/adapter-js';
// adapter-js (wasm kernel), one process, CPU time per `layer.predict(x, { out })` (issue 16):
// - arena: `out` from `layer.allocateOutput(shape)`, inside the table's WebAssembly memory, so
//   the kernel writes every row once (one pass);
// - plain: `out` a plain Float32Array, which the kernel fills through its scratch area and one
//   `TypedArray.set` per chunk (two passes).
// The two alternate (order swapped every round); medians of the rounds. Both outputs are
// checked bit for bit against each other at the end.
//   node bench/profile/arena-probe.mjs [S|M|L|XL|V,D,B,S ...]   (default: S M; L and XL need ~2.2 GB)
// Build core and adapter-js first (npx turbo run build --filter=@embedding-layer/adapter-js...).
import { Embedding } from '@embedding-layer/core';

const WORKLOADS = { S: [1000, 64, 32, 10], M: [50_000, 128, 256, 64], L: [1_000_000, 256, 4096, 128], XL: [50_000, 128, 8192, 256] };
const ROUNDS = 7;

function randomIds(count, rows, seed) {
  const ids = new Int32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    ids[i] = (s >>> 0) % rows;
  }
  return ids;
}

async function cpuPerCall(fn, calls) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / calls;
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(us >= 100_000 ? 0 : 2)} ms` : `${us.toFixed(2)} us`);

async function probe(label, [V, D, B, S]) {
  // Seeded uniform initializer: every table page written, no second copy of the table in JS.
  const layer = await Embedding.create({ inputDim: V, outputDim: D, seed: 7 }, { backend: createJsBackend({ kernel: 'wasm' }) });
  const shape = [B, S];
  const input = { data: randomIds(B * S, V, 12345), shape };
  const arena = layer.allocateOutput(shape);
  const placed = arena.byteOffset > 0;
  const plain = new Float32Array(B * S * D);
  const subjects = {
    arena: () => layer.predict(input, { out: arena }),
    plain: () => layer.predict(input, { out: plain }),
  };
  // Warm-up, then as many calls per sample as take about 200 ms of CPU.
  let estimate = 0;
  for (let n = 1; estimate * n < 50_000 && n <= 4096; n *= 4) estimate = await cpuPerCall(subjects.plain, n);
  await cpuPerCall(subjects.arena, Math.max(1, Math.floor(50_000 / estimate)));
  const calls = Math.max(3, Math.min(100_000, Math.round(200_000 / estimate)));
  const samples = { arena: [], plain: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['arena', 'plain'] : ['plain', 'arena'];
    for (const name of order) samples[name].push(await cpuPerCall(subjects[name], calls));
  }
  const a = new Uint32Array(arena.buffer, arena.byteOffset, arena.length);
  const p = new Uint32Array(plain.buffer, plain.byteOffset, plain.length);
  let same = a.length === p.length;
  for (let i = 0; same && i < a.length; i++) same = a[i] === p[i];
  const ma = median(samples.arena);
  const mp = median(samples.plain);
  console.log(
    `${label.padEnd(2)} ${V}x${D}, ${B}x${S} ids: arena ${fmt(ma)}, plain ${fmt(mp)} CPU/call (medians of ${ROUNDS} x ${calls} calls; ` +
      `arena/plain ${(ma / mp).toFixed(2)}; arena ${fmt(Math.min(...samples.arena))}-${fmt(Math.max(...samples.arena))}, ` +
      `plain ${fmt(Math.min(...samples.plain))}-${fmt(Math.max(...samples.plain))}; placed ${placed}, bit-identical ${same})`,
  );
  layer.releaseOutput(arena);
  await layer.dispose();
}

const args = process.argv.slice(2);
for (const arg of args.length > 0 ? args : ['S', 'M']) {
  const dims = WORKLOADS[arg] ?? arg.split(',').map(Number);
  if (dims.length !== 4 || dims.some((x) => !Number.isInteger(x) || x <= 0))
    throw new Error(`expected S, M, L, XL or V,D,B,S; received ${arg}`);
  await probe(WORKLOADS[arg] ? arg : '', dims);
}
