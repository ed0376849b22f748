#!/usr/bin/env node
// adapter-onnx layer creation from a caller's table, copied (default) or shared
// (`shareWeights: true`), each in a process of its own (issue 16: creation at L <= 0.5 s).
//
//   node bench/profile/onnx-create-probe.mjs [V,D] [processes per mode]
//
// Each child fills the caller's V x D float32 table by a loop, loads onnxruntime-node and creates
// a 2 x 2 layer (runtime start-up is not the table's), then times Embedding.create(config,
// { backend, weights: [table], shareWeights }): wall time, CPU time (user + system, all
// threads), minor page faults, and RSS added. Modes alternate process by process. Asserts nothing.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const [dims = '1000000,256', processesArg = '2', child] = process.argv.slice(2);
const [V, D] = dims.split(',').map(Number);

if (child === 'copy' || child === 'share') {
  const { Embedding } = await import('@embedding-layer/core');
  const { createOnnxBackend } = await import('@embedding-layer/adapter-onnx');
  const table = new Float32Array(V * D);
  for (let i = 0; i < table.length; i++) table[i] = (i % 997) / 1000;
  const backend = createOnnxBackend();
  await (await Embedding.create({ inputDim: 2, outputDim: 2, seed: 1 }, { backend })).dispose();
  const rss0 = process.memoryUsage().rss;
  const f0 = process.resourceUsage().minorPageFault;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const layer = await Embedding.create(
    { inputDim: V, outputDim: D },
    { backend, weights: [table], ...(child === 'share' ? { shareWeights: true } : {}) },
  );
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const faults = process.resourceUsage().minorPageFault - f0;
  const rss = process.memoryUsage().rss - rss0;
  const out = (await layer.predict([[0, V - 1]])).data;
  if (out[0] !== table[0] || out[D] !== table[(V - 1) * D]) throw new Error('wrong rows');
  console.log(
    JSON.stringify({
      mode: child,
      wall,
      cpu: (c.user + c.system) / 1000,
      sys: c.system / 1000,
      faults,
      rss,
      shares: layer.describe().sharesWeights,
    }),
  );
  await layer.dispose();
  process.exit(0);
}

const script = fileURLToPath(import.meta.url);
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
console.log(`table ${V.toLocaleString()} x ${D} float32 = ${mib(V * D * 4)}; load ${loadavg()[0].toFixed(2)}`);
for (let p = 0; p < Number(processesArg); p++) {
  for (const mode of ['copy', 'share']) {
    const r = JSON.parse(execFileSync(process.execPath, [script, dims, '1', mode], { encoding: 'utf8' }).trim().split('\n').pop());
    console.log(
      `${mode.padEnd(5)} create ${(r.wall / 1000).toFixed(3)} s wall, ${(r.cpu / 1000).toFixed(3)} s CPU (system ${(r.sys / 1000).toFixed(3)} s), ` +
        `${r.faults.toLocaleString()} minor faults, RSS + ${mib(r.rss)}; describe().sharesWeights ${r.shares}`,
    );
  }
}
console.log(`load at the end ${loadavg()[0].toFixed(2)}`);
