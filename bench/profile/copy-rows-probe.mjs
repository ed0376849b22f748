#!/usr/bin/env node
// CPU time per call of four ways to gather float32 rows in JavaScript (issue 16, adapter-tfjs cpu):
// set per row, Int32Array loops (one row, eight rows interleaved), Float64Array loops (same).
//   node bench/profile/copy-rows-probe.mjs V D N reps   e.g. 1000 64 320 20000 (S), 50000 128 16384 200 (M)
const [V, W, N, reps] = process.argv.slice(2).map(Number);
const table = new Float32Array(V * W).map((_, i) => i);
const ids = new Int32Array(N).map((_, i) => (i * 7919) % V);
const out = new Float32Array(N * W);
function viaSet(t, w, ids, out) {
  for (let i = 0, o = 0; i < ids.length; i++, o += w) {
    const s = ids[i] * w;
    out.set(t.subarray(s, s + w), o);
  }
}
function loop(t, w, ids, out) {
  const n = ids.length;
  for (let i = 0; i < n; i++) {
    const s = ids[i] * w;
    const o = i * w;
    for (let j = 0; j < w; j++) out[o + j] = t[s + j];
  }
}
function loop8(t, w, ids, out) {
  const n = ids.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const s0 = ids[i] * w,
      s1 = ids[i + 1] * w,
      s2 = ids[i + 2] * w,
      s3 = ids[i + 3] * w,
      s4 = ids[i + 4] * w,
      s5 = ids[i + 5] * w,
      s6 = ids[i + 6] * w,
      s7 = ids[i + 7] * w;
    let o = i * w;
    for (let j = 0; j < w; j++, o++) {
      out[o] = t[s0 + j];
      out[o + w] = t[s1 + j];
      out[o + 2 * w] = t[s2 + j];
      out[o + 3 * w] = t[s3 + j];
      out[o + 4 * w] = t[s4 + j];
      out[o + 5 * w] = t[s5 + j];
      out[o + 6 * w] = t[s6 + j];
      out[o + 7 * w] = t[s7 + j];
    }
  }
  for (; i < n; i++) {
    const s = ids[i] * w;
    const o = i * w;
    for (let j = 0; j < w; j++) out[o + j] = t[s + j];
  }
}
const i32 = new Int32Array(table.buffer),
  o32 = new Int32Array(out.buffer);
const f64 = new Float64Array(table.buffer),
  o64 = new Float64Array(out.buffer);
const cases = {
  set: () => viaSet(table, W, ids, out),
  int32loop: () => loop(i32, W, ids, o32),
  int32loop8: () => loop8(i32, W, ids, o32),
  f64loop: () => loop(f64, W / 2, ids, o64),
  f64loop8: () => loop8(f64, W / 2, ids, o64),
};
for (const f of Object.values(cases)) for (let k = 0; k < 2000; k++) f();
for (let r = 0; r < 3; r++) {
  const line = [];
  for (const [name, f] of Object.entries(cases)) {
    const c0 = process.cpuUsage();
    for (let k = 0; k < reps; k++) f();
    const c = process.cpuUsage(c0);
    line.push(`${name} ${((c.user + c.system) / reps).toFixed(2)}`);
  }
  console.log(line.join('  '));
}
