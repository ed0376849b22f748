// Spec v2's doApplyOptimizer: a backend that declares an optimizer in supports.optimizers gets
// each step's sparse gradient instead of deltas (its state lives with the backend).
import { describe, expect, it } from 'vitest';
import { defineBackend } from '../backend/define-backend.js';
import { Embedding } from '../embedding.js';
import type { KerasObject } from '../serialization/keras-object.js';
import type { EmbeddingBackendV2, EmbeddingTableV2, OptimizerSupportV2 } from '../spec/v2/embedding-backend-v2.js';
import { createMemoryBackend } from '../testing/memory-backend.js';

interface Call {
  rows: number[];
  gradients: number[];
  optimizer: KerasObject;
  iteration: number;
}

/**
 * An in-memory backend that applies Adagrad itself (Keras 3's formula, written here: float64
 * arithmetic, the accumulator and the weights rounded to float32), recording each call.
 */
function serverBackend(optimizers: OptimizerSupportV2[]): { backend: EmbeddingBackendV2; calls: Call[]; scatterAdds: number[][] } {
  const calls: Call[] = [];
  const scatterAdds: number[][] = [];
  const base = createMemoryBackend();
  const backend = defineBackend({
    name: 'memory-with-optimizer',
    supports: { training: true, optimizers },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2> {
      const table = await base.doCreateTable(config, initial);
      const d = config.outputDim;
      const acc = new Map<number, Float32Array>();
      const add = table.doScatterAdd!.bind(table);
      return {
        ...table,
        doScatterAdd(rows, deltas) {
          scatterAdds.push([...rows]);
          return add(rows, deltas);
        },
        async doApplyOptimizer(rows, gradients, optimizer, iteration) {
          calls.push({ rows: [...rows], gradients: [...gradients], optimizer, iteration });
          const { learning_rate: lr, initial_accumulator_value: a0, epsilon } = optimizer.config as Record<string, number>;
          for (let k = 0; k < rows.length; k++) {
            const w = await table.doReadRows(rows[k]!, 1);
            let a = acc.get(rows[k]!);
            if (!a) {
              a = new Float32Array(d).fill(a0!);
              acc.set(rows[k]!, a);
            }
            for (let c = 0; c < d; c++) {
              const g = gradients[k * d + c]!;
              a[c] = a[c]! + g * g;
              w[c] = w[c]! + Math.fround(-(lr! * g) / Math.sqrt(a[c]! + epsilon!));
            }
            await table.doWriteRows(rows[k]!, w);
          }
        },
      };
    },
  });
  return { backend, calls, scatterAdds };
}

const weights = [Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 8)];

describe('doApplyOptimizer (supports.optimizers)', () => {
  it('gets the sparse gradient (duplicates summed, padding row left out), the resolved optimizer and the iteration, instead of doScatterAdd', async () => {
    const { backend, calls, scatterAdds } = serverBackend([{ className: 'Adagrad', relativeError: 0 }]);
    const layer = await Embedding.create({ inputDim: 6, outputDim: 2, paddingIdx: 0 }, { backend, weights });
    layer.compile('adagrad', 'mse');
    await layer.applyGradients([[1, 3, 1, 0]], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    await layer.applyGradients([[0]], Float32Array.from([1, 1]));
    expect(scatterAdds).toEqual([]);
    expect(calls.map((c) => [c.rows, c.gradients, c.iteration])).toEqual([
      [[1, 3], [1 + 5, 2 + 6, 3, 4], 1],
      [[], [], 2], // a step that touches only the padding row still reaches the backend (it may count iterations)
    ]);
    expect(calls[0]!.optimizer).toEqual({
      className: 'Adagrad',
      config: { learning_rate: 0.001, initial_accumulator_value: 0.1, epsilon: 1e-7 },
    });
    await layer.dispose();
  });

  it('trains to the same weights as core applying the same optimizer', async () => {
    const { backend, calls } = serverBackend([{ className: 'Adagrad', relativeError: 0 }]);
    const x = [
      [1, 2, 2],
      [5, 1, 4],
      [3, 3, 3],
      [0, 4, 2],
    ];
    const y = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const layers = await Promise.all(
      [backend, createMemoryBackend()].map((b) => Embedding.create({ inputDim: 6, outputDim: 2 }, { backend: b, weights })),
    );
    for (const layer of layers) {
      layer.compile({ className: 'Adagrad', config: { learning_rate: 0.1 } }, 'mse');
      await layer.fit(x, y, { epochs: 3, batchSize: 2, shuffle: false });
    }
    expect(calls.length).toBe(6);
    const [server, core] = await Promise.all(layers.map(async (l) => (await l.getWeights())[0]!));
    expect(server).toEqual(core);
    expect(server).not.toEqual(weights[0]);
    for (const layer of layers) await layer.dispose();
  });

  it('stays in core for an undeclared config (SGD with momentum), an embeddings regularizer or denseUpdates', async () => {
    const { backend, calls, scatterAdds } = serverBackend([
      { className: 'Adagrad', relativeError: 0 },
      { className: 'SGD', only: { momentum: 0 }, relativeError: 0 },
    ]);
    const plain = await Embedding.create({ inputDim: 6, outputDim: 2 }, { backend, weights });
    plain.compile({ className: 'SGD', config: { momentum: 0.9 } }, 'mse');
    await plain.applyGradients([1], Float32Array.from([1, 1]));
    plain.compile({ optimizer: 'adagrad', loss: 'mse', denseUpdates: true });
    await plain.applyGradients([1], Float32Array.from([1, 1]));
    const regularized = await Embedding.create({ inputDim: 6, outputDim: 2, embeddingsRegularizer: 'l2' }, { backend, weights });
    regularized.compile('adagrad', 'mse');
    await regularized.applyGradients([1], Float32Array.from([1, 1]));
    expect(calls).toEqual([]);
    expect(scatterAdds.length).toBe(3);
    // The same backend applies plain SGD (momentum 0) itself; an uncompiled layer's applyGradients is SGD too.
    const sgd = await Embedding.create({ inputDim: 6, outputDim: 2 }, { backend, weights });
    await sgd.applyGradients([2], Float32Array.from([1, 1]), { learningRate: 0.5 });
    expect(calls.map((c) => c.optimizer.className)).toEqual(['SGD']);
    for (const layer of [plain, regularized, sgd]) await layer.dispose();
  });

  it('checks the manifest: known optimizers and config keys, only with training, and the hook present', async () => {
    const make = (supports: Record<string, unknown>) => () => defineBackend({ name: 'b', supports, doCreateTable: () => ({}) as never });
    expect(make({ training: true, optimizers: [{ className: 'Adamax', relativeError: 0 }] })).toThrow(
      /supports\.optimizers\[0\]\.className must be/,
    );
    expect(make({ training: true, optimizers: [{ className: 'SGD', only: { beta: 0 }, relativeError: 0 }] })).toThrow(
      /optimizers\[0\]\.only\.beta must be a config key of SGD/,
    );
    expect(make({ training: true, optimizers: [{ className: 'SGD', relativeError: -1 }] })).toThrow(/relativeError must be/);
    expect(make({ optimizers: [{ className: 'SGD', relativeError: 0 }] })).toThrow(/empty unless supports.training/);
    const base = createMemoryBackend();
    const lacking = defineBackend({
      name: 'lacking',
      supports: { training: true, optimizers: [{ className: 'SGD', relativeError: 0 }] },
      doCreateTable: (config, initial) => base.doCreateTable(config, initial),
    });
    await expect(Embedding.create({ inputDim: 2, outputDim: 1 }, { backend: lacking })).rejects.toThrow(
      /lacks doApplyOptimizer \(supports\.optimizers\)/,
    );
  });
});
