#!/usr/bin/env node
// adapter-redis against adapter-js on the same workloads (issue 15), in one run:
//   M: a 50,000 x 128 float32 table (the CLI bench's M), batches of 16,384 indices (256 x 64),
//      uniform: distinct rows per second and p50/p99 per batch of `predict`, and of one SGD
//      training step (`applyGradients`) with and without the WAIT acknowledgement.
//   --big (opt-in, not run by CI): a 20,000,000 x 64 float32 table (5.1 GB) written into the
//      cluster, then served and trained by a client process started with
//      --max-old-space-size=512; its peak RSS is reported.
// It starts its own local cluster (scripts/redis-cluster.mjs, base port 30601: 3 masters + 3
// replicas; --big: 3 masters without replicas, to keep this machine's memory for one copy) and
// stops exactly those processes, unless EMBEDDING_LAYER_REDIS_NODES names a cluster to use.
// Run after `npx turbo run build`:  node bench/redis.mjs [--big] [--batches 100] [--repeat 2]
//   --reads-only: lookups only; --no-write: print, do not write bench/results; --block-rows N;
//   --adapter <file>: another build of adapter-redis (before/after comparisons);
//   --chart-only: rewrite the Markdown and SVG reports from the JSON results.
// Every row reports this process's CPU time and all redis-servers' CPU time per batch (INFO
// cpu), and the load average: on a shared machine they say what wall times cannot.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding } from '@embedding-layer/core';
import { rawCommand, startCluster, stopCluster } from '../scripts/redis-cluster.mjs';

const args = process.argv.slice(2);
const BIG = args.includes('--big');
const CHILD = args.includes('--big-child');
const BATCHES = Number(args[args.indexOf('--batches') + 1]) || 100;
const READS_ONLY = args.includes('--reads-only');
const REPEAT = Number(args[args.indexOf('--repeat') + 1]) || 1;
const BLOCK_ROWS = Number(args[args.indexOf('--block-rows') + 1]) || 1024;
// --adapter <file>: another build of adapter-redis (for before/after comparisons of the read path).
const ADAPTER = args.includes('--adapter')
  ? pathToFileURL(resolve(args[args.indexOf('--adapter') + 1])).href
  : '@embedding-layer/adapter-redis';
const { createRedisBackend, openRedisTable } = await import(ADAPTER);
const WARMUP = 3;
const BASE_PORT = 30601;
const M = { inputDim: 50_000, outputDim: 128, batch: 256, sequence: 64 };

function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function batches(count, n, rows, seed) {
  const rnd = xorshift(seed);
  return Array.from({ length: count }, () => {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.floor(rnd() * rows);
    return data;
  });
}

const distinct = (data) => new Set(data).size;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

/** Ports of every redis-server of the cluster at `nodes` (masters and replicas), for their CPU time. */
let serverPorts = [];
async function findServers(nodes) {
  const port = Number(nodes.split(',')[0].split(':')[1]);
  const text = await rawCommand(port, ['CLUSTER', 'NODES']).catch(() => '');
  const ports = [...text.matchAll(/127\.0\.0\.1:(\d+)@/g)].map((m) => Number(m[1]));
  serverPorts = ports.length > 0 ? ports : [port];
}

/** used_cpu_user + used_cpu_sys of every redis-server, ms. */
async function serverCpuMs() {
  let ms = 0;
  for (const port of serverPorts) {
    const info = await rawCommand(port, ['INFO', 'cpu']).catch(() => '');
    ms += 1000 * (Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0));
  }
  return ms;
}

/**
 * Times `run(batch)` over the batches after WARMUP; returns rows/s (distinct rows per batch over
 * time), p50/p99 ms, and the CPU time per batch of this process and of the redis-servers (what
 * the work costs whatever else the machine runs), with the load average at the end.
 */
async function measure(name, list, run) {
  const times = [];
  let rows = 0;
  let cpu0 = null;
  const counts = list.map(distinct); // outside the CPU time
  let server0 = 0;
  for (let i = 0; i < list.length; i++) {
    if (i === WARMUP) {
      server0 = await serverCpuMs();
      cpu0 = process.cpuUsage();
    }
    const t = performance.now();
    await run(list[i]);
    const ms = performance.now() - t;
    if (i >= WARMUP) {
      times.push(ms);
      rows += counts[i];
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const server = (await serverCpuMs()) - server0;
  const total = times.reduce((a, b) => a + b, 0);
  const result = {
    name,
    batches: times.length,
    distinctRowsPerBatch: Math.round(rows / times.length),
    rowsPerSecond: Math.round(rows / (total / 1000)),
    p50Ms: pct(times, 0.5),
    p99Ms: pct(times, 0.99),
    clientCpuMsPerBatch: (cpu.user + cpu.system) / 1000 / times.length,
    clientSysMsPerBatch: cpu.system / 1000 / times.length,
    serverCpuMsPerBatch: name.includes('redis') ? server / times.length : 0,
    loadAverage: os.loadavg()[0],
  };
  console.error(
    `${name}: ${result.rowsPerSecond.toLocaleString('en-US')} distinct rows/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ` +
      `CPU per batch: client ${result.clientCpuMsPerBatch.toFixed(1)} ms (sys ${result.clientSysMsPerBatch.toFixed(1)}), redis ${result.serverCpuMsPerBatch.toFixed(1)} ms; load ${result.loadAverage.toFixed(2)}`,
  );
  return result;
}

async function workloadM(nodes) {
  const config = { inputDim: M.inputDim, outputDim: M.outputDim, seed: 42 };
  const list = batches(BATCHES + WARMUP, M.batch * M.sequence, M.inputDim, 7);
  const shape = [M.batch, M.sequence];
  const grad = new Float32Array(M.batch * M.sequence * M.outputDim).fill(0.001);
  const out = new Float32Array(M.batch * M.sequence * M.outputDim);
  const js = await Embedding.create(config, { backend: createJsBackend() });
  const redis = await Embedding.create(config, {
    backend: createRedisBackend({ nodes, table: `bench-m-${Date.now()}`, ifExists: 'replace', dropOnDispose: true, blockRows: BLOCK_ROWS }),
  });
  const redisNoWait = await Embedding.create(config, {
    backend: createRedisBackend({
      nodes,
      table: `bench-m-nowait-${Date.now()}`,
      ifExists: 'replace',
      dropOnDispose: true,
      waitReplicas: 0,
    }),
  });
  // Same seed, same table: the outputs must agree bit for bit.
  const a = (await js.predict({ data: list[0], shape })).data;
  const b = (await redis.predict({ data: list[0], shape })).data;
  const agree = a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  if (!agree) throw new Error('adapter-redis and adapter-js disagree on workload M');
  const results = [];
  for (let r = 0; r < REPEAT; r++) {
    results.push(
      await measure('adapter-js predict', list, (data) => js.predict({ data, shape })),
      await measure('adapter-redis predict (cluster)', list, (data) => redis.predict({ data, shape })),
      await measure('adapter-redis predict into a caller buffer (cluster)', list, (data) => redis.predict({ data, shape }, { out })),
    );
  }
  if (!READS_ONLY)
    results.push(
      await measure('adapter-js training step (sgd)', list.slice(0, 13), (data) => js.applyGradients({ data, shape }, grad)),
      await measure('adapter-redis training step (sgd, WAIT 1 replica)', list.slice(0, 13), (data) =>
        redis.applyGradients({ data, shape }, grad),
      ),
      await measure('adapter-redis training step (sgd, no WAIT)', list.slice(0, 13), (data) =>
        redisNoWait.applyGradients({ data, shape }, grad),
      ),
    );
  await js.dispose();
  await redis.dispose();
  await redisNoWait.dispose();
  return { workload: 'M', table: `${M.inputDim} x ${M.outputDim} float32`, indicesPerBatch: M.batch * M.sequence, agree, results };
}

const BIG_ROWS = 20_000_000;
const BIG_DIM = 64;

/** In a child started with --max-old-space-size=512: lookups and training steps on the 20M x 64 table; reports peak RSS. */
async function bigChild(nodes, table) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const layer = await Embedding.create(
    { inputDim: BIG_ROWS, outputDim: BIG_DIM, name: table },
    { backend: createRedisBackend({ nodes, table, timeoutMs: 30_000 }) },
  );
  const shape = [256, 64];
  const list = batches(20 + WARMUP, 256 * 64, BIG_ROWS, 9);
  const grad = new Float32Array(256 * 64 * BIG_DIM).fill(0.001);
  const lookups = await measure('20M x 64: adapter-redis predict', list, (data) => layer.predict({ data, shape }));
  const steps = await measure('20M x 64: adapter-redis training step (sgd)', list.slice(0, 10), (data) =>
    layer.applyGradients({ data, shape }, grad),
  );
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  await layer.dispose();
  process.stdout.write(JSON.stringify({ lookups, steps, peakRssMB: Math.round(peak / 2 ** 20) }));
}

async function bigTable(nodes) {
  const table = `bench-big-${Date.now()}`;
  const start = performance.now();
  // Written in 16 MiB chunks straight into the cluster (zeros plus a per-row value), never as one array.
  const t = await openRedisTable({
    nodes,
    table,
    inputDim: BIG_ROWS,
    outputDim: BIG_DIM,
    ifExists: 'replace',
    waitReplicas: 0,
    timeoutMs: 60_000,
    initial: (from, count) => {
      const out = new Float32Array(count * BIG_DIM);
      for (let r = 0; r < count; r++) out[r * BIG_DIM] = (from + r) % 1000;
      return out;
    },
  });
  const writeSeconds = (performance.now() - start) / 1000;
  console.error(`20M x 64 written in ${writeSeconds.toFixed(0)} s`);
  const child = spawn(process.execPath, ['--max-old-space-size=512', fileURLToPath(import.meta.url), '--big-child', nodes, table], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const code = await new Promise((r) => child.on('exit', r));
  await t.drop();
  await t.close();
  if (code !== 0) throw new Error(`the 512 MB client exited with ${code}`);
  return {
    table: `${BIG_ROWS} x ${BIG_DIM} float32 (${((BIG_ROWS * BIG_DIM * 4) / 1e9).toFixed(1)} GB)`,
    writeSeconds,
    ...JSON.parse(out),
  };
}

const cpuCell = (ms) => (ms === undefined ? '-' : `${ms.toFixed(1)} ms`);

const row = (r) =>
  `| ${r.name} | ${r.rowsPerSecond.toLocaleString('en-US')} | ${r.p50Ms.toFixed(1)} ms | ${r.p99Ms.toFixed(1)} ms | ${cpuCell(r.clientCpuMsPerBatch)} | ${r.name.includes('redis') ? cpuCell(r.serverCpuMsPerBatch) : '-'} | ${r.loadAverage?.toFixed(1) ?? '-'} |`;

function markdown(report) {
  const lines = [
    '# adapter-redis vs adapter-js',
    '',
    `${report.machine}. ${report.cluster}. Run: \`node bench/redis.mjs${report.big ? ' --big' : ''}\`, ${report.date}.`,
    '',
    `Workload M: ${report.m.table}, ${report.m.indicesPerBatch.toLocaleString('en-US')} uniform indices per batch (about ${report.m.results[0].distinctRowsPerBatch.toLocaleString('en-US')} distinct rows), ${report.m.results[0].batches} batches per lookup row and ${report.m.results.at(-1).batches} per training row after ${WARMUP} warm-up; outputs agree bit for bit: ${report.m.agree}.`,
    '',
    'CPU per batch: this process (user + sys) and all redis-servers together (INFO cpu), what a batch costs whatever else the machine runs; load: the 1-minute load average when the row was measured (2 cores).',
    '',
    '| subject | distinct rows/s | p50 per batch | p99 per batch | client CPU per batch | redis CPU per batch | load |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.m.results.map(row),
  ];
  if (report.big) {
    const b = report.big;
    lines.push(
      '',
      `Big table: ${b.table}, written in ${b.writeSeconds.toFixed(0)} s; client process with \`--max-old-space-size=512\`, peak RSS ${b.peakRssMB} MB.`,
      '',
      '| subject | distinct rows/s | p50 per batch | p99 per batch | client CPU per batch | redis CPU per batch | load |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...[b.lookups, b.steps].map(row),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A horizontal bar chart (SVG) of distinct rows per second, log scale, one bar per subject. */
function chart(report) {
  const rows = [
    ...report.m.results.map((r) => ({ ...r, name: `M: ${r.name}` })),
    ...(report.big ? [report.big.lookups, report.big.steps] : []),
  ];
  const w = 760;
  const left = 330;
  const bar = 18;
  const h = 40 + rows.length * (bar + 8);
  const max = Math.max(...rows.map((r) => r.rowsPerSecond));
  const lo = 1e3;
  const x = (v) => left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(max * 1.5) - Math.log10(lo))) * (w - left - 90);
  const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = rows.map((r, i) => {
    const y = 30 + i * (bar + 8);
    const fill = r.name.includes('redis') ? '#c0392b' : '#2c7fb8';
    return `<text x="${left - 6}" y="${y + 13}" text-anchor="end">${esc(r.name)}</text><rect x="${left}" y="${y}" width="${(x(r.rowsPerSecond) - left).toFixed(1)}" height="${bar}" fill="${fill}"/><text x="${(x(r.rowsPerSecond) + 4).toFixed(1)}" y="${y + 13}">${r.rowsPerSecond.toLocaleString('en-US')}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11"><text x="10" y="16" font-size="13">Distinct rows per second per batch of 16,384 indices (log scale), ${esc(report.date)}</text>${parts.join('')}</svg>\n`;
}

if (args.includes('--chart-only')) {
  // Redraws the charts and Markdown reports from the JSON results without measuring again.
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  const { readFileSync, existsSync } = await import('node:fs');
  for (const name of ['redis', 'redis-big']) {
    if (!existsSync(`${dir}${name}.json`)) continue;
    const report = JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8'));
    writeFileSync(`${dir}${name}.svg`, chart(report));
    writeFileSync(`${dir}${name}.md`, markdown(report));
  }
} else if (CHILD) {
  const [nodes, table] = args.slice(args.indexOf('--big-child') + 1);
  await findServers(nodes);
  await bigChild(nodes, table);
} else {
  const external = process.env.EMBEDDING_LAYER_REDIS_NODES;
  const state = external ? null : await startCluster({ basePort: BASE_PORT, masters: 3, replicas: BIG ? 0 : 1 });
  const nodes = external ?? state.seeds;
  await findServers(nodes);
  try {
    const report = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' '),
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}, redis-server 7.0 (all on this machine, shared with other work)`,
      cluster: external ? `cluster at ${external}` : `local cluster: 3 masters${BIG ? '' : ' + 3 replicas'} on 127.0.0.1`,
      m: await workloadM(nodes),
      big: BIG ? await bigTable(nodes) : null,
    };
    const dir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    if (args.includes('--no-write')) {
      console.log(markdown(report));
      process.exitCode = 0;
    } else {
      const name = BIG ? 'redis-big' : 'redis';
      writeFileSync(`${dir}${name}.json`, `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(`${dir}${name}.md`, markdown(report));
      writeFileSync(`${dir}${name}.svg`, chart(report));
      console.log(markdown(report));
    }
  } finally {
    if (state) await stopCluster({ basePort: BASE_PORT });
  }
}
