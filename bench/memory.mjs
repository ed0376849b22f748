#!/usr/bin/env node
// Memory of whole-table operations on every backend (issue 14, issue 16): a 1 GiB table
// (2^20 x 256 float32 by default), each (backend, operation) in a child process of its own.
//
//   npx turbo run build --filter=@embedding-layer/adapter-js --filter=@embedding-layer/adapter-tfjs --filter=@embedding-layer/adapter-onnx
//   node bench/memory.mjs [--backend js,tfjs-cpu,tfjs-wasm,onnx] [--op create,lookup,getWeights,setWeights,readRows]
//                         [--rows 1048576] [--dim 256] [--json FILE] [--markdown FILE] [--share]
//
// In each child: the backend's runtime is loaded and a 2x2 layer created and disposed (runtime
// start-up is not the table's), for setWeights the caller's array is allocated, then the
// baseline RSS is taken; then `Embedding.create` from the seeded initializer (no caller table),
// then the operation: one lookup of 4,096 x 128 indices (L's batch; its output is 512 MiB at
// 256 wide, held), `getWeights` (its result held), `setWeights` of the caller's array, or
// `readRows` over the whole table in 16 MiB ranges. Reported over the baseline: RSS right after
// create, RSS after the operation, and the peak RSS of the process (getrusage maxRSS). The same
// measure as adapter-js's `bench/memory.mjs`: "table + N MiB" is the peak over the baseline less
// the table's bytes. `--share`: the layer is created from a caller's table allocated (and filled)
// before the baseline, with `shareWeights: true`, so the figures are what the layer adds to a
// program that already holds its table (a backend that shares adds no table; one that copies adds
// one). Nothing is asserted: it prints a table and writes the reports.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const BACKENDS = ['js', 'tfjs-cpu', 'tfjs-wasm', 'onnx'];
const OPS = ['create', 'lookup', 'getWeights', 'setWeights', 'readRows'];
const LOOKUP = [4096, 128];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

async function backendFor(name) {
  if (name === 'js') return (await import('@embedding-layer/adapter-js')).createJsBackend();
  if (name === 'tfjs-cpu') return (await import('@embedding-layer/adapter-tfjs')).createTfjsBackend({ backend: 'cpu' });
  if (name === 'tfjs-wasm') return (await import('@embedding-layer/adapter-tfjs')).createTfjsBackend({ backend: 'wasm' });
  if (name === 'onnx') {
    await import('onnxruntime-node');
    return (await import('@embedding-layer/adapter-onnx')).createOnnxBackend();
  }
  throw new Error(`unknown backend ${JSON.stringify(name)}; known: ${BACKENDS.join(', ')}`);
}

async function child(name, op, rows, dim, share) {
  const { Embedding } = await import('@embedding-layer/core');
  const backend = await backendFor(name);
  // Runtime start-up (TF.js kernels, the wasm module, ORT's environment) before the baseline.
  await (await Embedding.create({ inputDim: 2, outputDim: 2, seed: 1 }, { backend })).dispose();
  let held = null;
  if (op === 'setWeights') held = new Float32Array(rows * dim).fill(0.25); // the caller's array
  let caller = null;
  if (share) {
    caller = new Float32Array(rows * dim);
    for (let i = 0; i < caller.length; i++) caller[i] = (i % 997) / 1000;
  }
  const ids = new Int32Array(LOOKUP[0] * LOOKUP[1]).map((_, i) => (i * 7919) % rows);
  const base = process.memoryUsage().rss;
  const t0 = performance.now();
  const layer = await Embedding.create(
    { inputDim: rows, outputDim: dim, seed: 1 },
    { backend, ...(caller ? { weights: [caller], shareWeights: true } : {}) },
  );
  const createMs = performance.now() - t0;
  const afterCreate = process.memoryUsage().rss;
  const peakCreate = process.resourceUsage().maxRSS * 1024;
  const t1 = performance.now();
  if (op === 'lookup') held = (await layer.predict({ data: ids, shape: LOOKUP })).data;
  if (op === 'getWeights') held = (await layer.getWeights())[0];
  if (op === 'setWeights') await layer.setWeights([held]);
  if (op === 'readRows') {
    const chunk = Math.floor((16 * 2 ** 20) / (dim * 4));
    let sum = 0;
    for (let r = 0; r < rows; r += chunk) sum += (await layer.readRows(r, Math.min(chunk, rows - r)))[0];
    if (Number.isNaN(sum)) throw new Error('NaN');
  }
  const opMs = performance.now() - t1;
  const afterOp = process.memoryUsage().rss;
  const peak = process.resourceUsage().maxRSS * 1024;
  const description = layer.describe();
  await layer.dispose();
  return {
    backend: name,
    op,
    createMs,
    opMs: op === 'create' ? 0 : opMs,
    base,
    afterCreate: afterCreate - base,
    peakCreate: peakCreate - base,
    afterOp: afterOp - base,
    peak: peak - base,
    held: held?.length ?? 0,
    path: description.path ?? description.runtimeBackend ?? null,
    sharesWeights: description.sharesWeights ?? null,
  };
}

const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const over = (b, table) => `table ${b - table >= 0 ? '+' : '-'} ${mib(Math.abs(b - table))} (${(b / table).toFixed(2)}x)`;

async function parent() {
  const rows = Number(arg('rows', 2 ** 20));
  const dim = Number(arg('dim', 256));
  const backends = arg('backend', BACKENDS.join(',')).split(',');
  const ops = arg('op', OPS.join(',')).split(',');
  const share = process.argv.includes('--share');
  const tableBytes = rows * dim * 4;
  const script = fileURLToPath(import.meta.url);
  const results = [];
  console.log(`table ${rows.toLocaleString()} x ${dim} float32 = ${mib(tableBytes)}; Node ${process.version}`);
  for (const backend of backends) {
    for (const op of ops) {
      let r;
      try {
        const out = execFileSync(process.execPath, [script, '--child', backend, op, String(rows), String(dim), share ? 'share' : 'own'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 1 << 24,
        });
        r = JSON.parse(out.trim().split('\n').pop());
      } catch (error) {
        const line = String(error.stderr ?? error.message)
          .split('\n')
          .find((l) => /Error|error|memory/.test(l));
        r = { backend, op, error: (line ?? 'failed').trim().slice(0, 200) };
      }
      results.push(r);
      if (r.error) console.log(`${backend.padEnd(9)} ${op.padEnd(10)} failed: ${r.error}`);
      else
        console.log(
          `${backend.padEnd(9)} ${op.padEnd(10)} create ${(r.createMs / 1000).toFixed(2)} s, RSS after create ${over(r.afterCreate, tableBytes)}; ` +
            `${op === 'create' ? 'peak' : `${op} ${(r.opMs / 1000).toFixed(2)} s, peak`} ${over(r.peak, tableBytes)}, after ${over(r.afterOp, tableBytes)}` +
            (share ? `; sharesWeights ${r.sharesWeights}` : ''),
        );
    }
  }
  const load = loadavg().map((v) => v.toFixed(2));
  const report = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    rows,
    dim,
    tableBytes,
    lookup: LOOKUP,
    loadavg: load,
    share,
    results,
  };
  const json = arg('json', 'bench/results/memory.json');
  const markdown = arg('markdown', 'bench/results/memory.md');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const lines = [
    `Memory of whole-table operations: table ${rows.toLocaleString()} x ${dim} float32 (${mib(tableBytes)}), ${
      share ? "a caller's table allocated before the baseline and shared (shareWeights: true)" : 'seeded initializer'
    }, each (backend, operation) in its own process; ` +
      `over the RSS after the runtime loaded (and, for setWeights, after the caller's array was allocated). Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average at the end ${load.join(' / ')}. ` +
      `lookup = one predict of ${LOOKUP.join(' x ')} indices (output ${mib(LOOKUP[0] * LOOKUP[1] * dim * 4)}, held). Made by \`node bench/memory.mjs\`.`,
    '',
    '| backend | operation | create | RSS after create | operation time | peak RSS | RSS after the operation |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    if (r.error) lines.push(`| ${r.backend} | ${r.op} | failed: ${r.error.replaceAll('|', '/')} |||||`);
    else
      lines.push(
        `| ${r.backend} | ${r.op} | ${(r.createMs / 1000).toFixed(2)} s | ${over(r.afterCreate, tableBytes)} | ${r.op === 'create' ? '' : `${(r.opMs / 1000).toFixed(2)} s`} | ${over(r.peak, tableBytes)} | ${over(r.afterOp, tableBytes)} |`,
      );
  }
  writeFileSync(markdown, `${lines.join('\n')}\n`);
  console.log(`wrote ${json} and ${markdown}`);
}

if (process.argv[2] === '--child') {
  const [, , , name, op, rows, dim, share] = process.argv;
  console.log(JSON.stringify(await child(name, op, Number(rows), Number(dim), share === 'share')));
} else {
  await parent();
}
