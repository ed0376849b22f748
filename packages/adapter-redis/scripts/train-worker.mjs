// A separate process that trains one shared Redis table (used by src/faults.test.ts):
//   node train-worker.mjs <nodes> <table> <steps>
// Through the layer: `steps` SGD steps of applyGradients on indices [[1, 2, 2, 7]] with an
// upstream gradient of ones and learning rate 0.25 (row 2 appears twice: its gradient is 2).
// On the server: `steps` adagrad steps (openRedisTable.applyOptimizer) on rows [3, 4] of the
// same table with gradient 0.5. Prints "done <steps>".

import { createRedisBackend, openRedisTable } from '@embedding-layer/adapter-redis';
import { Embedding } from '@embedding-layer/core';

const [nodes, table, stepsText] = process.argv.slice(2);
const steps = Number(stepsText);
const layer = await Embedding.create({ inputDim: 20, outputDim: 4, name: table }, { backend: createRedisBackend({ nodes, table }) });
const shared = await openRedisTable({ nodes, table, inputDim: 20, outputDim: 4 });
const grad = new Float32Array(16).fill(1);
const rows = Int32Array.from([3, 4]);
const g = new Float32Array(8).fill(0.5);
for (let i = 0; i < steps; i++) {
  await layer.applyGradients([[1, 2, 2, 7]], grad, { learningRate: 0.25 });
  await shared.applyOptimizer(rows, g, { kind: 'adagrad', learning_rate: 0.01 });
}
await shared.close();
await layer.dispose();
console.log(`done ${steps}`);
