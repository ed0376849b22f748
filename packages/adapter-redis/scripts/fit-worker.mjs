// A separate process that trains one shared Redis table through `layer.fit` (used by
// src/faults.test.ts):
//   node fit-worker.mjs <nodes> <table> <first row> <epochs> <server optimizers: 1 | 0>
// Adagrad (learning_rate 0.05), loss mae, targets 1000: every value's gradient is
// sign(w - 1000) / 32 = -1/32 while |w| < 1000, whatever the weights. x is the 16 rows from
// <first row> in 8 samples of 2, two batches of 4 samples per epoch (each batch touches 8
// distinct rows once), no shuffling. Prints "done <epochs>".

import { createRedisBackend } from '@embedding-layer/adapter-redis';
import { Embedding } from '@embedding-layer/core';

const [nodes, table, firstText, epochsText, serverText] = process.argv.slice(2);
const first = Number(firstText);
const epochs = Number(epochsText);
const backend = createRedisBackend({ nodes, table, serverOptimizers: serverText === '1' });
const layer = await Embedding.create({ inputDim: 24, outputDim: 4, name: table }, { backend });
layer.compile({ className: 'Adagrad', config: { learning_rate: 0.05 } }, 'mae');
const x = Array.from({ length: 8 }, (_, i) => [first + 2 * i, first + 2 * i + 1]);
const y = new Float32Array(8 * 2 * 4).fill(1000);
await layer.fit(x, y, { epochs, batchSize: 4, shuffle: false });
await layer.dispose();
console.log(`done ${epochs}`);
