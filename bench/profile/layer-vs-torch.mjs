#!/usr/bin/env node
// adapter-js's layer against torch 1.13 on the same shapes and ids, CPU time per call, rounds
// alternating between the two processes so that both see the same host (issue 16: on this VM
// the host's speed moved wall times of processes run minutes apart by 1.5-4x).
//   node bench/profile/layer-vs-torch.mjs V,D,B,S [rounds] [calls] [python]
// Layer subjects: predict into layer.allocateOutput(shape) ("placed"), into a plain
// Float32Array ("plain"), fresh with the previous output disposed ("disposed"). Torch: F.embedding
// ("fresh") and index_select(out=) ("out") on one thread. Prints the median per-round CPU time
// of each and the ratios of medians.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding } from '@embedding-layer/core';

const [dims = '1000,64,32,10', roundsArg = '9', callsArg, python = '/usr/bin/python3'] = process.argv.slice(2);
const [V, D, B, S] = dims.split(',').map(Number);
const n = B * S;
const rounds = Number(roundsArg);
const calls = Number(callsArg ?? Math.max(3, Math.round(4e7 / (n * D))));
const table = new Float32Array(V * D);
for (let i = 0; i < table.length; i++) table[i] = (i % 997) / 1000;
let seed = 7;
const ids = new Int32Array(n).map(() => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % V;
});
const idsFile = join(tmpdir(), `layer-vs-torch-${process.pid}.bin`);
writeFileSync(idsFile, ids);

const TORCH = `
import sys, time, numpy
import torch, torch.nn.functional as F
torch.set_num_threads(1)
V, D, B, S, calls = map(int, sys.argv[1:6])
w = (torch.arange(V * D, dtype=torch.float32) % 997 / 1000).reshape(V, D)
flat = torch.from_numpy(numpy.fromfile(sys.argv[6], dtype=numpy.int32).astype(numpy.int64))
idx = flat.reshape(B, S)
buf = torch.empty(B * S, D)
subjects = {"fresh": lambda: F.embedding(idx, w), "out": lambda: torch.index_select(w, 0, flat, out=buf)}
with torch.inference_mode():
    for line in sys.stdin:
        f = subjects[line.strip()]
        for _ in range(max(1, calls // 10)): f()
        t = time.process_time_ns()
        for _ in range(calls): f()
        print((time.process_time_ns() - t) / calls / 1000, flush=True)
`;
const child = spawn(python, ['-c', TORCH, String(V), String(D), String(B), String(S), String(calls), idsFile], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function torch(subject) {
  child.stdin.write(`${subject}\n`);
  return Number((await lines.next()).value);
}

const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend: createJsBackend(), weights: [table] });
const input = { data: ids, shape: [B, S] };
const placed = layer.allocateOutput([B, S]);
const plain = new Float32Array(n * D);
let previous = null;
const ours = {
  placed: () => layer.predict(input, { out: placed }),
  plain: () => layer.predict(input, { out: plain }),
  disposed: async () => {
    previous?.dispose();
    previous = await layer.predict(input);
  },
};
async function mine(f) {
  for (let i = 0; i < Math.max(1, calls / 10); i++) await f();
  const c = process.cpuUsage();
  for (let i = 0; i < calls; i++) await f();
  const t = process.cpuUsage(c);
  return (t.user + t.system) / calls;
}
const results = { placed: [], plain: [], disposed: [], 'torch fresh': [], 'torch out': [] };
for (let r = 0; r < rounds; r++) {
  for (const [name, f] of Object.entries(ours)) results[name].push(await mine(f));
  results['torch fresh'].push(await torch('fresh'));
  results['torch out'].push(await torch('out'));
}
child.stdin.end();
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
const us = (v) => (v >= 1000 ? `${(v / 1000).toFixed(3)} ms` : `${v.toFixed(2)} us`);
console.log(`${dims}, ${rounds} rounds x ${calls} calls, CPU per call (median of rounds):`);
console.log(
  Object.entries(m)
    .map(([k, v]) => `${k} ${us(v)}`)
    .join(' | '),
);
console.log(
  `placed / torch out ${(m.placed / m['torch out']).toFixed(2)}x, plain / torch out ${(m.plain / m['torch out']).toFixed(2)}x, disposed / torch fresh ${(m.disposed / m['torch fresh']).toFixed(2)}x`,
);
await layer.dispose();
