// Cost of one `layer.predict` on the ONNX backend at the seed's size (a 1000x64 table, 32x10
// indices), compared with a bare `session.run` on the same model with tensors made in
// advance. Run after building: `npx turbo run build --filter=@embedding-layer/adapter-onnx`,
// then `node packages/adapter-onnx/bench/predict-vs-session-run.mjs`. Not a test: it prints
// times and ratios, and asserts nothing about them.

import { buildEmbeddingModel, createOnnxBackend } from '@embedding-layer/adapter-onnx';
import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';

const ROUNDS = 15;
const CALLS = 2000;

/**
 * Median microseconds per call of each function. Rounds alternate between the functions, so a
 * machine that gets busier or quieter during the run affects all of them alike.
 */
async function perCall(fns) {
  for (const fn of fns) for (let i = 0; i < 1000; i++) await fn();
  const samples = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let f = 0; f < fns.length; f++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) await fns[f]();
      samples[f].push(Number(process.hrtime.bigint() - start) / CALLS / 1000);
    }
  }
  return samples;
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
/** Median over rounds of the per-round ratio a/b (both measured in the same round). */
const ratio = (a, b) => median(a.map((v, r) => v / b[r]));

function indices(count, inputDim) {
  const out = new Int32Array(count);
  let s = 12345;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s % inputDim;
  }
  return out;
}

const ids = indices(320, 1000);
const rows = [];
for (const indexType of ['int32', 'int64']) {
  const layer = await Embedding.create(
    { inputDim: 1000, outputDim: 64, inputLength: 10, seed: 42 },
    { backend: createOnnxBackend({ indexType }) },
  );
  const weights = (await layer.getWeights())[0];
  const feedIds = indexType === 'int32' ? ids : BigInt64Array.from(ids, BigInt);
  const options = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 };
  // The backend's own model (table as a graph input, flat indices), run bare.
  const fed = await ort.InferenceSession.create(
    buildEmbeddingModel(layer.config, weights, { table: 'input', indexType, inputShape: ['n'] }),
    options,
  );
  const fedFeeds = {
    indices: new ort.Tensor(indexType, feedIds, [320]),
    embeddings: new ort.Tensor('float32', weights, [1000, 64]),
  };
  // The exported model (table as an initializer), run bare.
  const exported = await ort.InferenceSession.create(await layer.export('onnx'), options);
  const exportedFeeds = { indices: new ort.Tensor(indexType, feedIds, [32, 10]) };

  const [predict, bareFed, bareExported] = await perCall([
    () => layer.predict({ data: ids, shape: [32, 10] }),
    () => fed.run(fedFeeds),
    () => exported.run(exportedFeeds),
  ]);
  rows.push({
    indexType,
    predict: median(predict),
    bareFed: median(bareFed),
    bareExported: median(bareExported),
    ratioFed: ratio(predict, bareFed),
    ratioExported: ratio(predict, bareExported),
  });
  await fed.release();
  await exported.release();
  await layer.dispose();
}

console.log(
  `one lookup of 32x10 indices in a 1000x64 table (medians over ${ROUNDS} interleaved rounds of ${CALLS} sequential calls), microseconds per call`,
);
for (const r of rows) {
  console.log(
    `${r.indexType}: layer.predict ${r.predict.toFixed(1)} | bare session.run, same model (table fed) ${r.bareFed.toFixed(1)} ` +
      `| bare session.run, exported model (table as initializer) ${r.bareExported.toFixed(1)} | ratio predict / bare (same model) ${r.ratioFed.toFixed(2)}, ` +
      `predict / bare (exported) ${r.ratioExported.toFixed(2)}`,
  );
}

// The backend feeds the table on every run; on the CPU provider that wraps the Float32Array
// without a copy, so the cost of a run must not grow with the table. Compare 1000 rows with
// 1,000,000 rows (244 MiB): a copy would add tens of milliseconds per run.
const sizes = [];
for (const inputDim of [1000, 1_000_000]) {
  const layer = await Embedding.create({ inputDim, outputDim: 64, seed: 1 }, { backend: createOnnxBackend() });
  sizes.push({ inputDim, layer });
}
const [small, large] = await perCall(
  sizes.map(
    ({ layer }) =>
      () =>
        layer.predict({ data: ids, shape: [32, 10] }),
  ),
);
console.log(
  `table size: predict on a 1000-row table ${median(small).toFixed(1)} us, on a 1,000,000-row (244 MiB) table ${median(large).toFixed(1)} us ` +
    `(ratio ${ratio(large, small).toFixed(2)})`,
);
for (const { layer } of sizes) await layer.dispose();
