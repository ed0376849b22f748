#!/usr/bin/env node
// Where a lookup's output goes in onnxruntime-node (issue 16: adapter-onnx into a caller's
// buffer at L/XL), on the layer's own graph (the table fed as an input, one intra-op thread).
//
//   node bench/profile/onnx-out-probe.mjs facts
//     1. session.run(feeds, { output: preallocated }) fills the preallocated array AND returns
//        a different array holding a copy (the binding copies every output into a new ArrayBuffer);
//     2. whether ONNX Runtime's Gather writes straight into the preallocated array or into its own
//        buffer first: with ORT's CPU arena off, a 64 MiB output it allocates itself is a fresh
//        mapping each run (16,384 page faults), so minor faults per run tell the two apart;
//     3. what `preferredOutputLocation: 'cpu'` (IO binding in 1.30) does with a preallocated output.
//   node bench/profile/onnx-out-probe.mjs V,D,B,S [rounds] [calls] [chunkMiB]
//     into a caller's buffer, CPU time and minor faults per call, one process, rounds alternating:
//     one run over all indices (the bench peer's `run(feeds, { output })`) against runs over
//     chunks of indices whose outputs are views of the caller's buffer (each binding copy is then
//     chunk-sized: reused heap memory instead of a fresh output-sized mapping). FRESH=1: fresh
//     outputs instead (ORT's own output copied by the binding, against a new array filled in pieces).
// Asserts nothing; prints.
import { buildEmbeddingModel } from '@embedding-layer/adapter-onnx';
import { resolveConfig } from '@embedding-layer/core';
import { raiseMallocThresholds } from '@embedding-layer/core/backend';
import * as ort from 'onnxruntime-node';

const [mode = 'facts', roundsArg = '5', callsArg = '3', chunkArg = '8'] = process.argv.slice(2);
const one = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 };
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const faults = () => process.resourceUsage().minorPageFault;

function fill(V, D, B) {
  const table = new Float32Array(V * D);
  for (let i = 0; i < table.length; i++) table[i] = (i % 997) / 1000;
  const ids = new Int32Array(B);
  for (let i = 0; i < B; i++) ids[i] = (i * 7919) % V;
  return { table, ids };
}

async function session(V, D, table, options = one) {
  return ort.InferenceSession.create(
    buildEmbeddingModel(resolveConfig({ inputDim: V, outputDim: D }), table, { table: 'input', inputShape: ['n'] }),
    options,
  );
}

if (mode === 'facts') {
  // 1. A preallocated output is filled, and a copy of it is returned.
  {
    const [V, D, N] = [1000, 64, 320];
    const { table, ids } = fill(V, D, N);
    const s = await session(V, D, table);
    const out = new Float32Array(N * D);
    const tableTensor = new ort.Tensor('float32', table, [V, D]);
    const r = await s.run(
      { indices: new ort.Tensor('int32', ids, [N]), embeddings: tableTensor },
      { output: new ort.Tensor('float32', out, [N, D]) },
    );
    const returned = r.output.data;
    let same = true;
    for (let i = 0; i < N * D; i++) if (out[i] !== table[ids[Math.floor(i / D)] * D + (i % D)] || returned[i] !== out[i]) same = false;
    console.log(
      `1. preallocated output filled with the rows and equal to the returned array: ${same}; returned array is the preallocated one: ${returned === out}, same ArrayBuffer: ${returned.buffer === out.buffer}`,
    );
    await s.release();
  }
  // 2. Faults per run at a 64 MiB output with ORT's arena off (so ORT's own output buffer would be a fresh mapping).
  {
    const [V, D, N] = [50_000, 128, 131_072];
    const { table, ids } = fill(V, D, N);
    const s = await session(V, D, table, { ...one, enableCpuMemArena: false });
    const tableTensor = new ort.Tensor('float32', table, [V, D]);
    const out = new Float32Array(N * D).fill(1); // touched: its pages are resident
    const feeds = () => ({ indices: new ort.Tensor('int32', ids, [N]), embeddings: tableTensor });
    const measure = async (fn) => {
      await fn();
      const f0 = faults();
      for (let i = 0; i < 4; i++) await fn();
      return (faults() - f0) / 4;
    };
    const pre = await measure(() => s.run(feeds(), { output: new ort.Tensor('float32', out, [N, D]) }));
    const fresh = await measure(() => s.run(feeds()));
    console.log(
      `2. 64 MiB output (16,384 pages), arena off: preallocated ${pre.toFixed(0)} faults/run, ORT-allocated ${fresh.toFixed(0)} faults/run ` +
        `(one output-sized fresh buffer = 16,384: preallocated then pays only the binding's copy, so the Gather wrote into the caller's array itself)`,
    );
    await s.release();
  }
  // 3. IO binding (`preferredOutputLocation`) with a preallocated CPU output.
  {
    const [V, D, N] = [100, 8, 10];
    const { table, ids } = fill(V, D, N);
    try {
      const s = await session(V, D, table, { ...one, preferredOutputLocation: 'cpu' });
      const out = new Float32Array(N * D);
      const r = await s.run(
        { indices: new ort.Tensor('int32', ids, [N]), embeddings: new ort.Tensor('float32', table, [V, D]) },
        { output: new ort.Tensor('float32', out, [N, D]) },
      );
      console.log(
        `3. preferredOutputLocation 'cpu': preallocated output written: ${out.some((v) => v !== 0)}; returned array is it: ${r.output.data === out}; returned rows right: ${r.output.data[D] === table[ids[1] * D]}`,
      );
      await s.release();
    } catch (error) {
      console.log(`3. preferredOutputLocation 'cpu' rejected: ${error.message}`);
    }
  }
  process.exit(0);
}

// As adapter-onnx's layers do (raiseMallocThresholds, default true): glibc keeps freed blocks up to 32 MiB in its heap.
if (process.env.NO_PRIMER !== '1') raiseMallocThresholds();
const [V, D, B, S] = mode.split(',').map(Number);
const N = B * S;
const rounds = Number(roundsArg);
const calls = Number(callsArg);
const chunkRows = Math.max(1, Math.floor((Number(chunkArg) * 2 ** 20) / (D * 4)));
const { table, ids } = fill(V, D, N);
const s = await session(V, D, table);
const tableTensor = new ort.Tensor('float32', table, [V, D]);
const out = new Float32Array(N * D).fill(0);
const fns = {
  'one run': () =>
    s.run({ indices: new ort.Tensor('int32', ids, [N]), embeddings: tableTensor }, { output: new ort.Tensor('float32', out, [N, D]) }),
  [`chunks of ${chunkArg} MiB`]: async (into = out) => {
    for (let start = 0; start < N; start += chunkRows) {
      const n = Math.min(chunkRows, N - start);
      await s.run(
        { indices: new ort.Tensor('int32', ids.subarray(start, start + n), [n]), embeddings: tableTensor },
        { output: new ort.Tensor('float32', into.subarray(start * D, (start + n) * D), [n, D]) },
      );
    }
  },
};
const chunked = fns[`chunks of ${chunkArg} MiB`];
if (process.env.FRESH === '1') {
  // Fresh outputs: ORT's own output (its arena keeps it) copied by the binding into a new array,
  // against a new zeroed Float32Array filled in pieces.
  delete fns['one run'];
  delete fns[`chunks of ${chunkArg} MiB`];
  fns['one run fresh'] = () => s.run({ indices: new ort.Tensor('int32', ids, [N]), embeddings: tableTensor });
  fns[`chunks of ${chunkArg} MiB fresh`] = () => chunked(new Float32Array(N * D));
}
const names = Object.keys(fns);
const cpu = Object.fromEntries(names.map((n) => [n, []]));
const flt = Object.fromEntries(names.map((n) => [n, []]));
for (const n of names) await fns[n]();
for (let r = 0; r < rounds; r++) {
  for (const n of names) {
    const c0 = process.cpuUsage();
    const f0 = faults();
    for (let i = 0; i < calls; i++) await fns[n]();
    const c = process.cpuUsage(c0);
    cpu[n].push((c.user + c.system) / calls / 1000);
    flt[n].push((faults() - f0) / calls);
  }
}
let right = true;
for (let i = 0; i < N; i += 997) if (out[i * D + 1] !== table[ids[i] * D + 1]) right = false;
console.log(
  `${mode}: output ${((N * D * 4) / 2 ** 20).toFixed(0)} MiB, ${calls} calls x ${rounds} rounds${process.env.FRESH === '1' ? '' : `; rows right: ${right}`}`,
);
for (const n of names)
  console.log(
    `${n.padEnd(16)} cpu ${median(cpu[n]).toFixed(1).padStart(8)} ms/call, ${median(flt[n]).toFixed(0)} faults/call  [${cpu[n].map((v) => v.toFixed(0)).join(', ')}]`,
  );
console.log(`chunks / one run: ${median(cpu[names[1]].map((v, i) => v / cpu[names[0]][i])).toFixed(2)}x CPU (median of per-round ratios)`);
await s.release();
