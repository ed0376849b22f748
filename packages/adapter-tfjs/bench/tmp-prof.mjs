import { Embedding, toIndexTensor } from '@embedding-layer/core';
import { createTfjsBackend } from '../dist/index.js';

const [n, d, k] = [50000, 128, 16384];
const table = new Float32Array(n * d).map(() => Math.random());
const ids = new Int32Array(k).map(() => Math.floor(Math.random() * n));
const backend = await createTfjsBackend({ backend: 'cpu' });
const layer = await Embedding.create({ inputDim: n, outputDim: d }, { backend, weights: [table] });
const out = new Float32Array(k * d);
const input = { data: ids, shape: [256, 64] };
const t = async (label, f) => {
  for (let i = 0; i < 5; i++) await f();
  const ts = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await f();
    ts.push((performance.now() - t0) / 5);
  }
  ts.sort((a, b) => a - b);
  console.log(label, ts.map((x) => x.toFixed(1)).join(' '));
};
await t('toIndexTensor', () => toIndexTensor(input, n));
await t('predict out', () => layer.predict(input, { out }));
await t('predict', () => layer.predict(input));
await t('copy', () => out.set(table.subarray(0, k * d)));
