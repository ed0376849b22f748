#!/usr/bin/env node
// What a fresh output costs in Node (issue 16): new Float32Array (zero-filled) vs
// Buffer.allocUnsafeSlow (not zero-filled) vs a preallocated buffer, each followed by one set
// of the output's bytes; CPU time per call.   node bench/profile/alloc-probe.mjs [floats]
const n = Number(process.argv[2] ?? 20480);
const src = new Float32Array(n).fill(0.5);
let keep = new Float32Array(n);
const subjects = {
  'new Float32Array + set': () => {
    keep = new Float32Array(n);
    keep.set(src);
  },
  'Buffer.allocUnsafeSlow + set': () => {
    const b = Buffer.allocUnsafeSlow(n * 4);
    keep = new Float32Array(b.buffer, b.byteOffset, n);
    keep.set(src);
  },
  'preallocated set': () => keep.set(src),
};
const calls = Math.max(5, Math.floor(2e7 / n));
const samples = {};
for (let rep = 0; rep < 9; rep++) {
  for (const [name, fn] of Object.entries(subjects)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) fn();
    const c = process.cpuUsage(c0);
    samples[name] ??= [];
    samples[name].push((c.user + c.system) / calls);
  }
}
for (const [name, v] of Object.entries(samples))
  console.log(`${name.padEnd(30)} ${v.sort((a, b) => a - b)[4].toFixed(2)} us CPU (median of 9)`);
