#!/usr/bin/env node
import { createJsBackend } from '@embedding-layer/adapter-js';
// Where the time of predict(x, { out: layer.allocateOutput(shape) }) goes at S (issue 16): the layer's call
// against core's kernel gathering in place alone, and with core's index validation, one process, CPU time,
// rounds alternating, medians of 7.   node bench/profile/predict-overhead-probe.mjs
import { Embedding } from '@embedding-layer/core';
import { createWasmRows, toIndexTensor } from '@embedding-layer/core/backend';

const [V, D, B, S] = [1000, 64, 32, 10];
const table = new Float32Array(V * D);
for (let i = 0; i < table.length; i++) table[i] = (i % 997) / 1000;
const idx = new Int32Array(B * S).map((_, i) => (i * 7919) % V);
const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend: createJsBackend(), weights: [table] });
const input = { data: idx, shape: [B, S] };
const placed = layer.allocateOutput([B, S]);
const rows = createWasmRows(V, D, { growable: true });
rows.table.set(table);
const block = rows.allocate(B * S * D);
const scratch = new Int32Array(B * S);
const modes = {
  predict: () => layer.predict(input, { out: placed }),
  'raw gather in place': () => rows.gather(idx, block),
  'raw + toIndexTensor': () => {
    toIndexTensor(input, V, () => scratch);
    rows.gather(scratch, block);
  },
  'async raw': async () => rows.gather(idx, block),
};
const res = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
const calls = 50000;
for (let r = 0; r < 7; r++)
  for (const [k, f] of Object.entries(modes)) {
    for (let i = 0; i < 500; i++) await f();
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) await f();
    const c = process.cpuUsage(c0);
    res[k].push((c.user + c.system) / calls);
  }
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(
  Object.entries(res)
    .map(([k, v]) => `${k} ${med(v).toFixed(2)}`)
    .join(' | '),
);
