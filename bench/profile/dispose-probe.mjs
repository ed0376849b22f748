#!/usr/bin/env node
// Issue 16 idea (c): can an output that is given back (dispose) make a fresh lookup cheaper?
// CPU time per call, one process, rounds alternating, core's kernel over a wasm table:
//   fresh    new Float32Array(n) + gather (today's fresh output, freed by V8 at GC)
//   pooled   take a buffer given back by the previous call's dispose, gather into it, then
//            dispose: structuredClone(buf, { transfer: [buf] }) detaches the user's view and
//            keeps the backing store for the next call
//   into     gather into one preallocated buffer (the floor of both)
//   node bench/profile/dispose-probe.mjs V,D,N [rounds] [calls]
import { createWasmRows } from '@embedding-layer/core/backend';

const [dims = '1000,64,320', roundsArg = '15', callsArg] = process.argv.slice(2);
const [V, D, N] = dims.split(',').map(Number);
const rounds = Number(roundsArg);
const calls = Number(callsArg ?? Math.max(1, Math.round(2e7 / (N * D))));
const rows = createWasmRows(V, D);
rows.table.set(new Float32Array(V * D).map((_, i) => (i % 997) / 1000));
const ids = new Int32Array(N).map((_, i) => (i * 7919) % V);
const into = new Float32Array(N * D);
const pool = [];
let sink = 0;
const subjects = {
  fresh() {
    const out = new Float32Array(N * D);
    rows.gather(ids, out);
    sink += out[5];
  },
  pooled() {
    const out = pool.length > 0 ? new Float32Array(pool.pop()) : new Float32Array(N * D);
    rows.gather(ids, out);
    sink += out[5];
    // dispose(): the user's view becomes length 0; the memory goes back to the pool.
    pool.push(structuredClone(out.buffer, { transfer: [out.buffer] }));
    if (out.length !== 0) throw new Error('not detached');
  },
  into() {
    rows.gather(ids, into);
    sink += into[5];
  },
};
const per = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
for (let r = 0; r <= rounds; r++) {
  for (const [name, f] of Object.entries(subjects)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) f();
    const c = process.cpuUsage(c0);
    if (r > 0) per[name].push((c.user + c.system) / calls);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} us`);
console.log(
  `${dims}, ${rounds} rounds x ${calls}: ${Object.keys(subjects)
    .map((k) => `${k} ${fmt(median(per[k]))}`)
    .join('  ')}  pooled/fresh ${median(per.pooled.map((t, i) => t / per.fresh[i])).toFixed(2)}x  (sink ${sink > 0})`,
);
console.log(
  `load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
