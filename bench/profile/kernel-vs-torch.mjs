#!/usr/bin/env node
// Core's WebAssembly gather kernel, single pass straight into wasm memory, against PyTorch's
// `torch.index_select(weight, 0, idx, out=buf)` on one thread, in the same conditions (issue 16):
// the same shapes and the same ids (written to a temp file the torch child reads), CPU time
// (process.cpuUsage here, time.process_time_ns there). In each round every subject and the torch
// child take a turn (rotating order): one warm-up batch, then 21 batches (3 at L and XL) of about
// 12 MB of rows (at least one call), back to back; the median batch per call is kept per subject
// and round. Reports per subject the median, min and max over rounds of those medians and the
// median of the per-round ratios to torch (to the first subject with NO_TORCH=1).
//
//   node bench/profile/kernel-vs-torch.mjs [S|M|L|XL|V,D,N] [rounds] [file.wat[:export] ...]
//
// Without .wat arguments it times the committed kernel's gather16x4 (what gatherChunks runs for
// rows of a multiple of 16 bytes) and gather. Each extra file is compiled with wabt (as
// packages/core/scripts/build-wasm.mjs does) and its export (default gather16x4) timed over the
// same memory, table, ids and output (`file.wat:export:nocheck` for a bound that is no gather,
// e.g. reads only); every other subject's output is checked bit for bit against a
// plain JavaScript gather before timing. Env PYTHON (default /usr/bin/python3) names torch's
// interpreter; NO_TORCH=1 skips it; SCRATCH=1 runs every kernel 256 kB of rows at a time into one
// area that stays in L2 (the first of adapter-js's two passes); OUT_OFFSET sets the output's
// offset in its page.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const WORKLOADS = {
  S: [1000, 64, 320],
  M: [50000, 128, 16384],
  L: [1000000, 256, 524288],
  XL: [50000, 128, 2097152],
};
const arg = process.argv[2] ?? 'M';
const [V, D, N] = WORKLOADS[arg] ?? arg.split(',').map(Number);
const rounds = Number(process.argv[3] ?? 7);
const extra = process.argv.slice(4);
const rowBytes = D * 4;
const bytesPerCall = N * rowBytes;
// About 12 MB of rows per batch (at least one call: one at M, L and XL), 21 batches per round
// (3 at L and XL, where one call moves 512 MiB or more).
const calls = Math.min(1e4, Math.max(1, Math.round(12e6 / Math.max(bytesPerCall, 1))));
const batches = bytesPerCall > 64e6 ? 3 : 21;

// --- the kernels
const core = new URL('../../packages/core/', import.meta.url);
const generated = readFileSync(new URL('src/kernel/generated/kernel-wasm.ts', core), 'utf8');
const committed = new WebAssembly.Module(Buffer.from(generated.match(/KERNEL_WASM =\s*'([^']+)'/)[1], 'base64'));
async function compileWat(path) {
  const wabt = await createRequire(new URL('package.json', core))('wabt')();
  let module;
  try {
    module = wabt.parseWat(path, readFileSync(path, 'utf8'), { bulk_memory: true, threads: true, simd: true });
  } catch (error) {
    throw new Error(`${path}: ${error.message}`); // wabt's own stack prints its whole minified source
  }
  const { buffer } = module.toBinary({ log: false, write_debug_names: false });
  module.destroy();
  return new WebAssembly.Module(buffer);
}

const idsPtr = 65536;
const tablePtr = Math.ceil((idsPtr + N * 4 + 4096) / 65536) * 65536;
// The output starts OUT_OFFSET bytes (default 1024) into a page (no effect measured at M).
const outPtr = Math.ceil((tablePtr + V * rowBytes) / 4096) * 4096 + Number(process.env.OUT_OFFSET ?? 1024);
const pages = Math.ceil((outPtr + N * rowBytes + 65536) / 65536);
const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
const u8 = new Uint8Array(memory.buffer);
const f32 = new Float32Array(memory.buffer);
const table = new Float32Array(memory.buffer, tablePtr, V * D);
// Every page of the table written (an untouched page maps to the zero page and stays in cache).
for (let i = 0; i < table.length; i++) table[i] = i % 1013;
let s = 7;
const ids = new Int32Array(N);
for (let i = 0; i < N; i++) {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  ids[i] = (s >>> 0) % V;
}
new Int32Array(memory.buffer, idsPtr, N).set(ids);
// The plain JS gather every subject must equal, bit for bit.
const want = new Uint8Array(bytesPerCall);
for (let i = 0; i < N; i++) want.set(u8.subarray(tablePtr + ids[i] * rowBytes, tablePtr + (ids[i] + 1) * rowBytes), i * rowBytes);

const subjects = [];
function addSubject(name, module, fn, check = true) {
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
  if (typeof k[fn] !== 'function') throw new Error(`${name}: no export ${fn}`);
  const whole = () => k[fn](tablePtr, idsPtr, N, rowBytes, outPtr);
  f32.fill(Number.NaN, outPtr >> 2, (outPtr + bytesPerCall) >> 2);
  whole();
  if (check && Buffer.compare(Buffer.from(u8.buffer, outPtr, bytesPerCall), Buffer.from(want.buffer)) !== 0)
    throw new Error(`${name}: output differs from a plain JS gather`);
  // SCRATCH=1: the same rows, 256 kB at a time into one area that stays in L2 (adapter-js's first
  // pass, gatherChunks, without its second), so the output never evicts the table.
  const chunk = Math.max(1, Math.floor(262144 / rowBytes));
  const chunked = () => {
    for (let a = 0; a < N; a += chunk) k[fn](tablePtr, idsPtr + a * 4, Math.min(chunk, N - a), rowBytes, outPtr);
  };
  subjects.push({ name, run: process.env.SCRATCH === '1' ? chunked : whole, perRound: [] });
}
if (rowBytes % 16 === 0) addSubject('committed gather16x4', committed, 'gather16x4');
addSubject('committed gather', committed, 'gather');
for (const spec of extra) {
  const [file, fn = 'gather16x4', flag] = spec.split(':');
  addSubject(`${file.replace(/.*\//, '')}:${fn}`, await compileWat(file), fn, flag !== 'nocheck');
}

// --- the torch child
const dir = mkdtempSync(join(tmpdir(), 'kernel-vs-torch-'));
writeFileSync(join(dir, 'ids.i32'), ids);
const PY = `
import sys, time, numpy as np, torch
torch.set_num_threads(1)
V, D, N = ${V}, ${D}, ${N}
ids = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.int32).astype(np.int64))
w = (torch.arange(V * D, dtype=torch.int64) % 1013).to(torch.float32).reshape(V, D)
buf = torch.empty(N, D)
torch.index_select(w, 0, ids, out=buf)
assert torch.equal(buf, w[ids])
print('ready', torch.__version__, torch.get_num_threads(), flush=True)
for line in sys.stdin:
    c, b = map(int, line.split())
    r = []
    for _ in range(b):
        t = time.process_time_ns()
        for _ in range(c):
            torch.index_select(w, 0, ids, out=buf)
        r.append((time.process_time_ns() - t) / c / 1000)
    print(' '.join(map(str, r)), flush=True)
`;
let torch = null;
if (process.env.NO_TORCH !== '1') {
  const child = spawn(process.env.PYTHON ?? '/usr/bin/python3', ['-c', PY, join(dir, 'ids.i32')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the torch child exited');
    return value;
  };
  const ready = await next();
  torch = {
    name: `torch ${ready.split(' ')[1]} index_select(out=), ${ready.split(' ')[2]} thread`,
    perRound: [],
    async round(count) {
      child.stdin.write(`${calls} ${count}\n`);
      return (await next()).split(' ').map(Number);
    },
    close: () => child.stdin.end(),
  };
}

const median = (v) => {
  const a = [...v].sort((x, y) => x - y);
  return a.length % 2 ? a[a.length >> 1] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
function timeJs(run) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) run();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / calls;
}
// Subjects take turns a round at a time (the order rotating), each running a warm-up batch (not
// kept: the previous subject's rows evicted its table from the shared L3) and then `batches`
// batches back to back, as repeated lookups into one table run.
const all = subjects.map((sub) => ({
  ...sub,
  batches: async (count) => Array.from({ length: count }, () => timeJs(sub.run)),
}));
if (torch) all.push({ ...torch, batches: (count) => torch.round(count) });
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < all.length; i++) {
    const sub = all[(i + round) % all.length];
    const samples = await sub.batches(batches + 1);
    sub.perRound.push(median(samples.slice(1)));
  }
}
torch?.close();
rmSync(dir, { recursive: true, force: true });

const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(3)} ms` : `${us.toFixed(2)} us`);
console.log(
  `V=${V} D=${D} N=${N} (${(bytesPerCall / 2 ** 20).toFixed(2)} MiB out, table ${((V * rowBytes) / 2 ** 20).toFixed(1)} MiB), ` +
    `${rounds} rounds x ${batches} batches x ${calls} calls, CPU time per call, load ${(await import('node:os')).loadavg()[0].toFixed(2)}`,
);
// Ratios per round to torch (or, without torch, to the first subject), then their median.
const ref = torch ? all.at(-1) : all[0];
for (const sub of all) {
  const m = median(sub.perRound);
  const ratio = ` | x ${torch ? 'torch' : 'first'} ${median(sub.perRound.map((v, i) => v / ref.perRound[i])).toFixed(3)}`;
  console.log(
    `${sub.name.padEnd(44)} median ${fmt(m).padStart(10)}  min ${fmt(Math.min(...sub.perRound)).padStart(10)}  max ${fmt(Math.max(...sub.perRound)).padStart(10)}${ratio}`,
  );
}
