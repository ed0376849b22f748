#!/usr/bin/env node
// EmbeddingBag benchmark (issue 18): M-sized bags, a 50,000 x 128 table and 256 bags of 64
// indices (16,384 lookups: 8.4 MB of looked-up rows, 131 kB of output), pooled with
// mean, sum and max, against PyTorch's F.embedding_bag in the same run, on the same table and
// the same indices (read by torch from a temporary file), with the outputs compared.
// Subjects: EmbeddingBag.predict on adapter-js, adapter-tfjs (cpu) and adapter-onnx; the
// exported pooled graph (bagToOnnx) in a bare onnxruntime-node session; and, for the cost of the
// pooling itself, Embedding.predict of the same 16,384 indices on adapter-js (lookup only).
// Torch and the bare ORT session run on 1 intra-op thread, as the CLI bench does (BENCH_THREADS).
// Run after `npx turbo run build`:  node bench/embedding-bag.mjs [--quick] [--python /usr/bin/python3]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROWS = 50_000;
const DIM = 128;
const BAGS = 256;
const LENGTH = 64;
const MODES = ['mean', 'sum', 'max'];

/** xorshift32 stream in [0, 1). */
function stream(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const TORCH = `
import json, sys, time
import numpy as np
import torch, torch.nn.functional as F
spec = json.loads(sys.argv[1])
torch.set_num_threads(1)
table = torch.from_numpy(np.fromfile(spec["table"], dtype="<f4").reshape(spec["rows"], spec["dim"]))
ids = torch.from_numpy(np.fromfile(spec["ids"], dtype="<i8"))
offsets = torch.arange(0, spec["bags"] * spec["length"], spec["length"], dtype=torch.int64)
out = {}
with torch.inference_mode():
    for mode in spec["modes"]:
        fn = lambda: F.embedding_bag(ids, table, offsets, mode=mode)
        y = fn()
        y.numpy().astype("<f4").tofile(spec["out"] + "." + mode)
        for _ in range(20):
            fn()
        samples, total = [], 0.0
        cpu0 = time.process_time()
        while total < spec["timeMs"] or len(samples) < 30:
            t = time.perf_counter(); fn(); dt = (time.perf_counter() - t) * 1e3
            samples.append(dt); total += dt
        cpu = (time.process_time() - cpu0) * 1e3 / len(samples)
        samples.sort()
        out[mode] = {"medianMs": samples[len(samples) // 2], "cpuMs": cpu, "samples": len(samples)}
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "modes": out}))
`;

async function time(fn, quick) {
  const { Bench } = await import('tinybench');
  const bench = new Bench({ time: quick ? 200 : 1500, iterations: quick ? 5 : 30, warmupIterations: 5, warmupTime: 0, throws: true });
  let calls = 0;
  bench.add('call', () => {
    calls++;
    return fn();
  });
  const cpu0 = process.cpuUsage();
  await bench.run();
  const cpu = process.cpuUsage(cpu0);
  const { result } = bench.tasks[0];
  const samples = [...(result.latency?.samples ?? result.samples)].sort((a, b) => a - b);
  // CPU time (user + system, every thread of the process) per call, warm-up included: steadier than wall time on a shared machine.
  return { medianMs: samples[Math.floor(samples.length / 2)], cpuMs: (cpu.user + cpu.system) / 1000 / calls, samples: samples.length };
}

function maxDiff(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

async function main() {
  const quick = process.argv.includes('--quick');
  const pythonAt = process.argv.indexOf('--python');
  const python = pythonAt > 0 ? process.argv[pythonAt + 1] : (process.env.EMBEDDING_LAYER_PYTHON ?? '/usr/bin/python3');
  const { EmbeddingBag, Embedding } = await import('@embedding-layer/core');
  const { createJsBackend } = await import('@embedding-layer/adapter-js');
  const { createTfjsBackend } = await import('@embedding-layer/adapter-tfjs');
  const { createOnnxBackend, bagToOnnx } = await import('@embedding-layer/adapter-onnx');
  const ort = await import('onnxruntime-node');

  const next = stream(18);
  const table = Float32Array.from({ length: ROWS * DIM }, () => next() * 0.1 - 0.05);
  const ids = Int32Array.from({ length: BAGS * LENGTH }, () => Math.floor(next() * ROWS));
  const offsets = Int32Array.from({ length: BAGS }, (_, b) => b * LENGTH);
  const fixed = { data: ids, shape: [BAGS, LENGTH] };

  // PyTorch in its own process, on the same bytes: once before our subjects and once after (the machine's load moves).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'embedding-bag-bench-'));
  writeFileSync(path.join(dir, 'table.f32'), new Uint8Array(table.buffer));
  writeFileSync(path.join(dir, 'ids.i64'), new Uint8Array(BigInt64Array.from(ids, (v) => BigInt(v)).buffer));
  const torchOut = {};
  const runTorch = () => {
    const spec = {
      table: path.join(dir, 'table.f32'),
      ids: path.join(dir, 'ids.i64'),
      out: path.join(dir, 'out'),
      rows: ROWS,
      dim: DIM,
      bags: BAGS,
      length: LENGTH,
      modes: MODES,
      timeMs: quick ? 200 : 1500,
    };
    const child = spawnSync(python, ['-c', TORCH, JSON.stringify(spec)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    });
    const line = child.stdout?.trim().split('\n').pop();
    if (child.status !== 0 || !line) {
      console.log(`torch skipped: ${child.error?.message ?? child.stderr?.trim().split('\n').pop()}`);
      return null;
    }
    for (const mode of MODES) {
      const bytes = readFileSync(`${spec.out}.${mode}`);
      torchOut[mode] = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
    }
    return JSON.parse(line);
  };
  const torchBefore = runTorch();

  const subjects = [
    { name: 'EmbeddingBag on adapter-js', backend: () => createJsBackend() },
    { name: 'EmbeddingBag on adapter-tfjs (cpu)', backend: () => createTfjsBackend({ backend: 'cpu' }) },
    { name: 'EmbeddingBag on adapter-onnx', backend: () => createOnnxBackend() },
  ];
  const ours = [];
  const record = (mode, subject, timing, output) => {
    const diff = torchOut[mode] && output ? maxDiff(output, torchOut[mode]) : null;
    ours.push({ mode, subject, ...timing, maxDiffVsTorch: diff });
    console.log(`${mode.padEnd(5)} ${subject.padEnd(48)} ${timing.medianMs.toFixed(3)} ms wall, ${timing.cpuMs.toFixed(3)} ms CPU`);
  };
  for (const mode of MODES) {
    for (const subject of subjects) {
      const bag = await EmbeddingBag.create(
        { inputDim: ROWS, outputDim: DIM, mode },
        { backend: await subject.backend(), weights: [table] },
      );
      const output = (await bag.predict(ids, { offsets })).data;
      record(mode, `${subject.name}, ragged (offsets)`, await time(() => bag.predict(ids, { offsets }), quick), output);
      if (subject.name.endsWith('adapter-js')) {
        record(mode, `${subject.name}, fixed (2-D)`, await time(() => bag.predict(fixed), quick), (await bag.predict(fixed)).data);
        // The exported pooled graph in a bare session (1 intra-op thread, as torch).
        const bytes = await bagToOnnx(bag, { indexType: 'int32' });
        const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
        const feeds = { indices: new ort.Tensor('int32', ids, [ids.length]), offsets: new ort.Tensor('int32', offsets, [BAGS]) };
        const ortOut = (await session.run(feeds)).output.data;
        record(mode, 'bagToOnnx graph, bare ORT session (1 thread)', await time(() => session.run(feeds), quick), ortOut);
        await session.release();
      }
      await bag.dispose();
    }
  }
  // The lookup alone (no pooling), for the pooling's share of the time.
  const lookup = await Embedding.create({ inputDim: ROWS, outputDim: DIM }, { backend: createJsBackend(), weights: [table] });
  const lookupTiming = await time(() => lookup.predict(fixed), quick);
  await lookup.dispose();
  console.log(
    `lookup only (Embedding.predict on adapter-js, 16,384 rows): ${lookupTiming.medianMs.toFixed(3)} ms wall, ${lookupTiming.cpuMs.toFixed(3)} ms CPU`,
  );
  const torchAfter = runTorch();
  rmSync(dir, { recursive: true, force: true });

  // Torch's reference per mode: the mean of its two runs (before and after ours).
  const torchRuns = [torchBefore, torchAfter].filter(Boolean);
  const reference = {};
  for (const mode of MODES) {
    if (torchRuns.length === 0) continue;
    const avg = (key) => torchRuns.reduce((a, r) => a + r.modes[mode][key], 0) / torchRuns.length;
    reference[mode] = { medianMs: avg('medianMs'), cpuMs: avg('cpuMs') };
  }
  const results = [];
  for (const mode of MODES) {
    const ref = reference[mode];
    if (ref) {
      for (const [k, run] of torchRuns.entries()) {
        results.push({
          mode,
          subject: `torch ${run.torch} F.embedding_bag (${run.threads} thread, ${k === 0 && torchBefore ? 'before' : 'after'} ours)`,
          ...run.modes[mode],
          wallRatio: run.modes[mode].medianMs / ref.medianMs,
          cpuRatio: run.modes[mode].cpuMs / ref.cpuMs,
          maxDiffVsTorch: 0,
        });
      }
    }
    for (const r of ours.filter((x) => x.mode === mode)) {
      results.push({ ...r, wallRatio: ref ? r.medianMs / ref.medianMs : null, cpuRatio: ref ? r.cpuMs / ref.cpuMs : null });
    }
  }

  const machine = `${os.cpus()[0]?.model ?? 'cpu'} x ${os.cpus().length}, Node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} (1/5/15 min) at the end`;
  const ratio = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(2)}x`);
  const torchName = torchRuns[0] ? `torch ${torchRuns[0].torch}, ${torchRuns[0].threads} thread` : 'not run';
  const md = [
    `EmbeddingBag, M-sized bags: table ${ROWS.toLocaleString('en-US')} x ${DIM} (float32, ${((ROWS * DIM * 4) / 1e6).toFixed(1)} MB), ${BAGS} bags of ${LENGTH} indices (${(BAGS * LENGTH).toLocaleString('en-US')} rows looked up per call), output ${BAGS} x ${DIM}. ${machine}. Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (--quick)' : ''}, \`node bench/embedding-bag.mjs\`.`,
    '',
    'Wall = median wall time of one call after warm-up (tinybench); CPU = CPU time (user + system, every thread) per call,',
    'warm-up included, which is steadier on this shared 2-core machine (other work was running: treat every ratio as rough).',
    `The peer is F.embedding_bag(ids, table, offsets, mode) in ${torchName}, inference_mode, run in its own process before and`,
    'after ours on the same table and indices; the ratios are against the mean of its two runs. "max |diff|" compares each',
    "subject's output with torch's.",
    `Lookup only: Embedding.predict of the same ${(BAGS * LENGTH).toLocaleString('en-US')} indices on adapter-js: ${lookupTiming.medianMs.toFixed(3)} ms wall, ${lookupTiming.cpuMs.toFixed(3)} ms CPU.`,
    "The layer pools in core over the backend's row lookup (one pass over the looked-up rows after the gather); torch fuses",
    'the gather and the reduction in one kernel and never materializes the rows.',
    '',
    '| mode | subject | wall median (ms) | x torch (wall) | CPU per call (ms) | x torch (CPU) | max abs diff vs torch |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.subject} | ${r.medianMs.toFixed(3)} | ${ratio(r.wallRatio)} | ${r.cpuMs.toFixed(3)} | ${ratio(r.cpuRatio)} | ${r.maxDiffVsTorch === null ? '—' : r.maxDiffVsTorch.toExponential(1)} |`,
    ),
    '',
  ].join('\n');
  console.log(`\n${md}`);
  const out = new URL('./results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('embedding-bag.md', out), md);
  writeFileSync(
    new URL('embedding-bag.json', out),
    `${JSON.stringify({ rows: ROWS, dim: DIM, bags: BAGS, length: LENGTH, torch: torchRuns, lookupOnly: lookupTiming, machine, results }, null, 1)}\n`,
  );
}

await main();
