#!/usr/bin/env node
// Issue 16 idea (a): into a caller's buffer with wide rows, is one pass of
// `out.set(table.subarray(...))` per row (from a JS view over the wasm memory) cheaper than
// the kernel into scratch + one set per chunk (two passes)? CPU time per call, one process,
// rounds alternating.   node bench/profile/wide-rows-probe.mjs V,D,N [rounds] [calls]
import { createWasmRows } from '@embedding-layer/core/backend';

const [dims = '1000000,256,524288', roundsArg = '7', callsArg = '1'] = process.argv.slice(2);
const [V, D, N] = dims.split(',').map(Number);
const rounds = Number(roundsArg);
const calls = Number(callsArg);
const rows = createWasmRows(V, D);
for (let r = 0; r < V; r += 65536) rows.table.fill(r / V, r * D, Math.min(V, r + 65536) * D);
let s = 12345;
const ids = new Int32Array(N).map(() => {
  s = (s * 1103515245 + 12345) >>> 0;
  return s % V;
});
const out = new Float32Array(N * D);
const table = rows.table;
const subjects = {
  kernel2pass() {
    rows.gather(ids, out);
  },
  setPerRow() {
    for (let i = 0, o = 0; i < N; i++, o += D) {
      const st = ids[i] * D;
      out.set(table.subarray(st, st + D), o);
    }
  },
};
const per = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
for (let r = 0; r <= rounds; r++) {
  for (const [name, f] of Object.entries(subjects)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) f();
    const c = process.cpuUsage(c0);
    if (r > 0) per[name].push((c.user + c.system) / calls / 1000);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(
  `${dims}, ${rounds} rounds x ${calls}: ${Object.keys(subjects)
    .map((k) => `${k} ${median(per[k]).toFixed(1)} ms`)
    .join('  ')}  setPerRow/kernel2pass ${median(per.setPerRow.map((t, i) => t / per.kernel2pass[i])).toFixed(2)}x`,
);
console.log(
  `load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
