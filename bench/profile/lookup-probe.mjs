#!/usr/bin/env node
// Per-call CPU time of layer.predict on one backend, for `perf record` / `--cpu-prof` (issue 16).
//   node bench/profile/lookup-probe.mjs js|tfjs-cpu|tfjs-wasm|onnx V,D,B,S fresh|out [calls] [workers]
//   perf record -g node --perf-basic-prof bench/profile/lookup-probe.mjs js 1000,64,32,10 out 40000
// Prints wall and CPU (user + system) microseconds per call: on a shared machine the CPU time
// is the steadier of the two.
import { Embedding } from '@embedding-layer/core';

const [name = 'js', dims = '1000,64,32,10', mode = 'out', callsArg, workersArg] = process.argv.slice(2);
const [V, D, B, S] = dims.split(',').map(Number);
const calls = Number(callsArg ?? 2000);
async function backend() {
  if (name === 'js')
    return (await import('@embedding-layer/adapter-js')).createJsBackend({ workers: Number(workersArg ?? 0), workerThreshold: 0 });
  if (name === 'tfjs-cpu') return (await import('@embedding-layer/adapter-tfjs')).createTfjsBackend({ backend: 'cpu' });
  if (name === 'tfjs-wasm') return (await import('@embedding-layer/adapter-tfjs')).createTfjsBackend({ backend: 'wasm' });
  if (name === 'onnx') return (await import('@embedding-layer/adapter-onnx')).createOnnxBackend();
  throw new Error(`unknown backend ${name}`);
}
const table = new Float32Array(V * D).map((_, i) => (i % 997) / 1000);
const idx = new Int32Array(B * S).map((_, i) => (i * 7919) % V);
const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend: await backend(), weights: [table] });
const input = { data: idx, shape: [B, S] };
const out = new Float32Array(B * S * D);
const call = () => (mode === 'out' ? layer.predict(input, { out }) : layer.predict(input));
for (let i = 0; i < Math.min(200, calls); i++) await call();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < calls; i++) await call();
const cpu = process.cpuUsage(cpu0);
const wall = ((performance.now() - t0) / calls) * 1000;
console.log(`${name} ${dims} ${mode}: ${wall.toFixed(2)} us/call wall, ${((cpu.user + cpu.system) / calls).toFixed(2)} us/call CPU`);
await layer.dispose();
