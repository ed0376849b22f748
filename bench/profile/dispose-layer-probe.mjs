#!/usr/bin/env node
// Issue 16 idea (c) through the layer: CPU time per predict on one backend, one process, rounds
// alternating: a fresh output kept until GC (no dispose), a fresh output whose predecessor is
// disposed once the next one exists (as a Python loop drops the previous torch tensor), and
// into a caller's buffer.
//   node bench/profile/dispose-layer-probe.mjs js|tfjs-cpu V,D,B,S [rounds] [calls] [prime]
// The backends run core's raiseMallocThresholds when the table is created (an untouched 32 MiB
// ArrayBuffer dropped: glibc then keeps freed outputs' pages instead of trimming them); `off`
// passes raiseMallocThresholds: false, `prime` drops the primer in the probe itself as well.
// Also prints minor page faults per call.
import { Embedding } from '@embedding-layer/core';

const [name = 'js', dims = '1000,64,32,10', roundsArg = '15', callsArg, prime] = process.argv.slice(2);
if (prime === 'prime') new ArrayBuffer(32 * 2 ** 20 - 2 ** 16);
const raiseMallocThresholds = prime !== 'off';
const [V, D, B, S] = dims.split(',').map(Number);
const n = B * S;
const rounds = Number(roundsArg);
const calls = Number(callsArg ?? Math.max(1, Math.round(2e7 / (n * D))));
async function backend() {
  if (name === 'js') return (await import('@embedding-layer/adapter-js')).createJsBackend({ raiseMallocThresholds });
  if (name === 'tfjs-cpu')
    return (await import('@embedding-layer/adapter-tfjs')).createTfjsBackend({ backend: 'cpu', raiseMallocThresholds });
  throw new Error(`unknown backend ${name}`);
}
// Filled in place: no table-sized temporary is freed (which would raise glibc's thresholds by itself).
const table = new Float32Array(V * D);
for (let i = 0; i < table.length; i++) table[i] = (i % 997) / 1000;
const idx = new Int32Array(n).map((_, i) => (i * 7919) % V);
const input = { data: idx, shape: [B, S] };
const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend: await backend(), weights: [table] });
const out = new Float32Array(n * D);
let previous = null;
let sink = 0;
const subjects = {
  fresh: async () => {
    sink += (await layer.predict(input)).data[3];
  },
  disposed: async () => {
    const y = await layer.predict(input);
    previous?.dispose();
    previous = y;
    sink += y.data[3];
  },
  out: async () => {
    sink += (await layer.predict(input, { out })).data[3];
  },
};
const per = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
const faults = Object.fromEntries(Object.keys(subjects).map((k) => [k, 0]));
for (let r = 0; r <= rounds; r++) {
  for (const [k, f] of Object.entries(subjects)) {
    const f0 = process.resourceUsage().minorPageFault;
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) await f();
    const c = process.cpuUsage(c0);
    if (r > 0) per[k].push((c.user + c.system) / calls);
    if (r > 0) faults[k] += (process.resourceUsage().minorPageFault - f0) / calls / rounds;
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`);
console.log(
  `${name} ${dims}, ${rounds} rounds x ${calls}: ${Object.keys(subjects)
    .map((k) => `${k} ${fmt(median(per[k]))}`)
    .join('  ')}  faults/call ${Object.keys(subjects)
    .map((k) => `${k} ${faults[k].toFixed(0)}`)
    .join(' ')}  disposed/fresh ${median(per.disposed.map((t, i) => t / per.fresh[i])).toFixed(2)}x (sink ${sink > 0})`,
);
console.log(
  `load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
await layer.dispose();
