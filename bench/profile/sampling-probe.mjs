#!/usr/bin/env node
// Does the bench's per-call memory sample (tinybench afterEach: process.memoryUsage(), about 12 us,
// a /proc read) slow the next call at S? Wall median per predict on adapter-js, with and without a
// memoryUsage() call between calls, rounds alternating (issue 16; the torch peer samples nothing per call).
//   node bench/profile/sampling-probe.mjs
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding } from '@embedding-layer/core';

const [V, D, B, S] = [1000, 64, 32, 10];
const table = new Float32Array(V * D).map((_, i) => (i % 997) / 1000);
const idx = new Int32Array(B * S).map((_, i) => (i * 7919) % V);
const input = { data: idx, shape: [B, S] };
const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend: createJsBackend(), weights: [table] });
const out = new Float32Array(B * S * D);
let prev = null;
const fresh = async () => {
  const y = await layer.predict(input);
  prev?.dispose();
  prev = y;
};
const into = async () => {
  await layer.predict(input, { out });
};
const res = {};
for (let round = 0; round < 8; round++) {
  for (const [name, fn] of [
    ['fresh', fresh],
    ['out', into],
  ]) {
    for (const sample of [false, true]) {
      const ts = [];
      for (let i = 0; i < 3000; i++) {
        const t = performance.now();
        await fn();
        ts.push(performance.now() - t);
        if (sample) process.memoryUsage();
      }
      ts.sort((a, b) => a - b);
      const key = `${name} ${sample ? 'with memoryUsage between' : 'plain'}`;
      res[key] = [...(res[key] ?? []), ts[ts.length >> 1] * 1000];
    }
  }
}
for (const [k, v] of Object.entries(res)) {
  v.sort((a, b) => a - b);
  console.log(k, v[v.length >> 1].toFixed(2), 'us median');
}
