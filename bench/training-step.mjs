#!/usr/bin/env node
// Training-step benchmark (issue 5): one optimizer step on a 256x64 batch of indices with a
// 64-wide table of 1,000 and of 1,000,000 rows, through our layer on adapter-js and
// adapter-tfjs (cpu), against tf.layers.embedding + model.trainOnBatch (TF.js's dense gradient).
// Reports the median step time and the 1M / 1k ratio per subject (goal: <= 1.5 for ours).
// TF.js's cpu gradient of a gather takes ~19 s for a 32x10 batch on a 1,000-row table here
// (minutes for 256x64), so the TF.js peer runs one sgd step on a 32x10 batch, timed once, and
// only on the 1,000-row table: on 1,000,000 rows one step did not finish within 12 minutes.
// Run after `npx turbo run build`:  node bench/training-step.mjs [--quick]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createTfjsBackend } from '@embedding-layer/adapter-tfjs';
import { randomIndices } from '@embedding-layer/conformance';
import { Embedding } from '@embedding-layer/core';
import * as tf from '@tensorflow/tfjs';
import { Bench } from 'tinybench';

const quick = process.argv.includes('--quick');
const batch = 256;
const length = 64;
const dim = 64;
const y = Float32Array.from(randomIndices(2, batch * length * dim, 2001), (v) => v / 1000 - 1);

async function ours(name, backend, rows, optimizer) {
  const layer = await Embedding.create({ inputDim: rows, outputDim: dim, seed: 3 }, { backend });
  layer.compile(optimizer, 'mse');
  const ids = { data: randomIndices(1, batch * length, rows), shape: [batch, length] };
  return { name, run: () => layer.trainOnBatch(ids, y), dispose: () => layer.dispose() };
}

const PEER_BATCH = 32;
const PEER_LENGTH = 10;

async function tfjsDense(rows, optimizer) {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: [tf.layers.embedding({ inputDim: rows, outputDim: dim, inputLength: PEER_LENGTH })] });
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const xs = tf.tensor2d(randomIndices(1, PEER_BATCH * PEER_LENGTH, rows), [PEER_BATCH, PEER_LENGTH], 'int32');
  const ys = tf.tensor3d(y.subarray(0, PEER_BATCH * PEER_LENGTH * dim), [PEER_BATCH, PEER_LENGTH, dim]);
  return {
    name: `tf.layers.embedding + trainOnBatch (${PEER_BATCH}x${PEER_LENGTH} batch, 1 call)`,
    once: true,
    run: () => model.trainOnBatch(xs, ys),
    dispose: () => {
      tf.dispose([xs, ys]);
      model.dispose();
    },
  };
}

const results = [];
for (const optimizer of ['sgd', 'rmsprop', 'adam']) {
  for (const rows of [1_000, 1_000_000]) {
    const subjects = [
      () => ours('adapter-js', createJsBackend(), rows, optimizer),
      async () => ours('adapter-tfjs (cpu)', await createTfjsBackend({ backend: 'cpu' }), rows, optimizer),
      // One TF.js step on the 1M-row table did not finish within 12 minutes here (its dense gather gradient).
      ...(optimizer === 'sgd' && rows === 1_000 ? [() => tfjsDense(rows, optimizer)] : []),
    ];
    for (const make of subjects) {
      const subject = await make();
      let ms;
      let samples = [];
      if (subject.once) {
        const start = performance.now();
        await subject.run();
        ms = performance.now() - start;
        samples = [ms];
      } else {
        const bench = new Bench({ time: quick ? 200 : 1500, iterations: quick ? 3 : 10, warmupIterations: 2, warmupTime: 0 });
        bench.add(subject.name, subject.run);
        await bench.run();
        samples = [...bench.tasks[0].result.samples].sort((a, b) => a - b);
        ms = samples[Math.floor(samples.length / 2)];
      }
      results.push({ optimizer, rows, subject: subject.name, medianMs: ms, samples: samples.length });
      console.log(`${optimizer.padEnd(8)} ${String(rows).padStart(9)} rows  ${subject.name.padEnd(36)} ${ms.toFixed(2)} ms`);
      await subject.dispose();
    }
  }
}

const rows = [];
for (const optimizer of ['sgd', 'rmsprop', 'adam']) {
  for (const subject of [...new Set(results.map((r) => r.subject))]) {
    const small = results.find((r) => r.optimizer === optimizer && r.subject === subject && r.rows === 1_000);
    const large = results.find((r) => r.optimizer === optimizer && r.subject === subject && r.rows === 1_000_000);
    if (!small || !large) continue;
    rows.push({ optimizer, subject, ms1k: small.medianMs, ms1M: large.medianMs, ratio: large.medianMs / small.medianMs });
  }
}
const machine = `${os.cpus()[0]?.model ?? 'cpu'} x ${os.cpus().length}, Node ${process.version}, load ${os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')}`;
const md = [
  `Training step: batch ${batch}x${length} indices, table rows x ${dim}, mse. ${machine}.`,
  '',
  '| optimizer | subject | 1k rows (ms) | 1M rows (ms) | 1M / 1k |',
  '|---|---|---:|---:|---:|',
  ...rows.map((r) => `| ${r.optimizer} | ${r.subject} | ${r.ms1k.toFixed(2)} | ${r.ms1M.toFixed(2)} | ${r.ratio.toFixed(2)} |`),
  '',
].join('\n');
console.log(`\n${md}`);
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('training.md', dir), md);
writeFileSync(new URL('training.json', dir), `${JSON.stringify({ machine, batch, length, dim, results: rows }, null, 2)}\n`);
