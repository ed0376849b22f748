// A separate process that trains one shared Redis table through `layer.fit` (used by
// src/faults.test.ts):
//   node fit-worker.mjs <nodes> <table> <first row> <epochs> <server optimizers: 1 | 0> [adagrad | rmsprop]
// Adagrad (learning_rate 0.05) or RMSprop (learning_rate 0.01, rho 0.9), loss mae, targets
// 1000: every value's gradient is sign(w - 1000) / 32 = -1/32 while |w| < 1000, whatever the
// weights. Adagrad: x is the 16 rows from <first row> in 8 samples of 2, two batches of 4
// samples per epoch (each batch touches 8 distinct rows once). RMSprop: x is all 24 rows in 12
// samples of 2, one batch per epoch (every step touches every row, so no row is ever idle and
// the result does not depend on how two processes' steps interleave). No shuffling. Prints
// "done <epochs>".

import { createRedisBackend } from '@embedding-layer/adapter-redis';
import { Embedding } from '@embedding-layer/core';

const [nodes, table, firstText, epochsText, serverText, optimizer = 'adagrad'] = process.argv.slice(2);
const first = Number(firstText);
const epochs = Number(epochsText);
const backend = createRedisBackend({ nodes, table, serverOptimizers: serverText === '1' });
const layer = await Embedding.create({ inputDim: 24, outputDim: 4, name: table }, { backend });
layer.compile(
  optimizer === 'rmsprop'
    ? { className: 'RMSprop', config: { learning_rate: 0.01, rho: 0.9 } }
    : { className: 'Adagrad', config: { learning_rate: 0.05 } },
  'mae',
);
const samples = optimizer === 'rmsprop' ? 12 : 8;
const start = optimizer === 'rmsprop' ? 0 : first;
const x = Array.from({ length: samples }, (_, i) => [start + 2 * i, start + 2 * i + 1]);
const y = new Float32Array(samples * 2 * 4).fill(1000);
await layer.fit(x, y, { epochs, batchSize: optimizer === 'rmsprop' ? 12 : 4, shuffle: false });
await layer.dispose();
console.log(`done ${epochs}`);
