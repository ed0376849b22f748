#!/usr/bin/env node
// adapter-js's WebAssembly kernel alone, on a table whose pages are all written (an untouched
// table maps every page to the zero page and stays in cache), CPU time per lookup (issue 16):
// - single pass: gather16x4 of every row straight into wasm memory (what a lookup could cost
//   if the output lived in the table's memory);
// - two passes: gather a chunk into scratch, then one TypedArray.set into a JS output (what
//   adapter-js does, since wasm cannot write into a JS ArrayBuffer), per kernel and chunk size;
// - the copy limit: one TypedArray.set of the output's bytes.
//   node bench/profile/kernel-probe.mjs [V,D,N]      (default 50000,128,16384: workload M)
import { readFileSync } from 'node:fs';

const generated = new URL('../../packages/core/src/kernel/generated/kernel-wasm.ts', import.meta.url);
const base64 = readFileSync(generated, 'utf8').match(/KERNEL_WASM =\s*'([^']+)'/)[1];
const module = new WebAssembly.Module(Buffer.from(base64, 'base64'));
const [V, D, N] = (process.argv[2] ?? '50000,128,16384').split(',').map(Number);
const rowBytes = D * 4;
const SLOT = 4 << 20;
const tablePtr = SLOT;
const outPtr = tablePtr + V * rowBytes + 2048;
const pages = Math.ceil((outPtr + N * rowBytes + 65536) / 65536);
const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const f32 = new Float32Array(memory.buffer);
const i32 = new Int32Array(memory.buffer);
const table = new Float32Array(memory.buffer, tablePtr, V * D);
for (let i = 0; i < table.length; i++) table[i] = i % 1013;
let s = 7;
const ids = new Int32Array(N).map(() => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) % V;
});
const idsAll = SLOT - 65536 * 8 - N * 4;
i32.set(ids, idsAll >> 2);
const out = new Float32Array(N * D).fill(1);
const src = new Float32Array(N * D).fill(2);
const calls = Math.max(3, Math.floor(1e8 / (N * rowBytes)));

function twoPass(fn, chunkRows) {
  const idsPtr = SLOT - 65536 * 8;
  for (let a = 0; a < N; a += chunkRows) {
    const b = Math.min(N, a + chunkRows);
    i32.set(ids.subarray(a, b), idsPtr >> 2);
    const scratch = (out.byteOffset + a * rowBytes + 16 + 2048) & 4092;
    k[fn](tablePtr, idsPtr, b - a, rowBytes, scratch);
    out.set(f32.subarray(scratch >> 2, (scratch >> 2) + (b - a) * D), a * D);
  }
}
const subjects = {
  'copy limit (one set)': () => out.set(src),
  'single pass into wasm memory': () => k.gather16x4(tablePtr, idsAll, N, rowBytes, outPtr),
};
for (const fn of ['gather', 'gather16x4'])
  for (const kb of [64, 256]) subjects[`two passes, ${fn}, ${kb} kB chunks`] = () => twoPass(fn, Math.floor((kb * 1024) / rowBytes));
const samples = {};
for (let rep = 0; rep < 7; rep++) {
  for (const [name, fn] of Object.entries(subjects)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) fn();
    const c = process.cpuUsage(c0);
    samples[name] ??= [];
    samples[name].push((c.user + c.system) / calls);
  }
}
for (const [name, v] of Object.entries(samples))
  console.log(`${name.padEnd(36)} ${v.sort((a, b) => a - b)[3].toFixed(2)} us CPU (median of 7)`);
