// Core's training (optimizers, losses, regularizers, constraints, dropout, fit) on a plain
// in-memory backend: the math is core's, so its tests live in core.
import { describe, expect, it } from 'vitest';
import { Embedding } from '../embedding.js';
import type { EmbeddingBackendV2 } from '../spec/v2/embedding-backend-v2.js';
import { createMemoryBackend, randomIndices } from '../testing/memory-backend.js';
import type { CompileOptions } from './trainer.js';

/** The in-memory backend, counting the rows each doScatterAdd touches. */
function countingBackend(): { backend: EmbeddingBackendV2; rowsPerStep: number[] } {
  const base = createMemoryBackend();
  const rowsPerStep: number[] = [];
  return {
    rowsPerStep,
    backend: {
      ...base,
      async doCreateTable(config, weights) {
        const table = await base.doCreateTable(config, weights);
        const add = table.doScatterAdd!.bind(table);
        table.doScatterAdd = (rows, deltas) => {
          rowsPerStep.push(rows.length);
          return add(rows, deltas);
        };
        return table;
      },
    },
  };
}

function seededTargets(seed: number, n: number): Float32Array {
  const ids = randomIndices(seed, n, 2001);
  return Float32Array.from(ids, (v) => (v - 1000) / 1000);
}

const seedInput = { data: randomIndices(7, 320, 1000), shape: [32, 10] };

describe('the seed example trains: compile("rmsprop", "mse") then fit', () => {
  it('lowers the loss on random targets', async () => {
    const layer = await Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10, seed: 42 }, { backend: createMemoryBackend() });
    layer.compile('rmsprop', 'mse');
    const y = seededTargets(3, 32 * 10 * 64);
    const before = await layer.evaluate(seedInput, y);
    const history = await layer.fit(seedInput, y, { epochs: 20, batchSize: 8, seed: 1 });
    const after = await layer.evaluate(seedInput, y);
    expect(history.history.loss).toHaveLength(20);
    expect(history.history.loss[19]!).toBeLessThan(history.history.loss[0]!);
    expect(after).toBeLessThan(before * 0.98);
  });
});

describe('sparse updates', () => {
  const cases: [string, CompileOptions['optimizer']][] = [
    ['sgd', 'sgd'],
    ['rmsprop', { className: 'RMSprop', config: { learning_rate: 0.01 } }],
    ['rmsprop centered', { className: 'RMSprop', config: { learning_rate: 0.01, centered: true } }],
    ['adagrad', { className: 'Adagrad', config: { learning_rate: 0.1 } }],
  ];
  for (const [name, optimizer] of cases) {
    it(`${name}: touching only the looked-up rows gives the dense update's weights`, async () => {
      const sparse = countingBackend();
      const make = (backend: EmbeddingBackendV2) =>
        Embedding.create({ inputDim: 50, outputDim: 4, seed: 9 }, { backend }).then((layer) => layer);
      const a = await make(sparse.backend);
      const b = await make(createMemoryBackend());
      a.compile({ optimizer, loss: 'mse' });
      b.compile({ optimizer, loss: 'mse', denseUpdates: true });
      for (let step = 0; step < 12; step++) {
        // Few rows per batch, so most rows sit idle for many steps between touches.
        const x = { data: randomIndices(500 + step, 6, 50), shape: [3, 2] };
        const y = seededTargets(700 + step, 3 * 2 * 4);
        expect(await a.trainOnBatch(x, y)).toBeCloseTo(await b.trainOnBatch(x, y), 6);
      }
      const wa = (await a.getWeights())[0]!;
      const wb = (await b.getWeights())[0]!;
      for (let i = 0; i < wa.length; i++) expect(Math.abs(wa[i]! - wb[i]!)).toBeLessThanOrEqual(2e-7 * (1 + Math.abs(wb[i]!)));
      expect(Math.max(...sparse.rowsPerStep)).toBeLessThanOrEqual(6);
    });
  }

  it('a step on a 1,000,000-row table touches only the distinct looked-up rows', async () => {
    const { backend, rowsPerStep } = countingBackend();
    const layer = await Embedding.create({ inputDim: 1_000_000, outputDim: 2, seed: 1 }, { backend });
    layer.compile('rmsprop', 'mse');
    await layer.trainOnBatch(
      [
        [5, 5, 999_999],
        [0, 5, 7],
      ],
      new Float32Array(12).fill(1),
    );
    expect(rowsPerStep).toEqual([4]);
  });

  it('momentum, adam and an embeddings regularizer update every row (dense, as Keras)', async () => {
    for (const options of [
      { optimizer: { className: 'SGD', config: { momentum: 0.9 } } },
      { optimizer: 'adam' },
      { optimizer: 'sgd', regularizer: 'l2' },
    ]) {
      const { backend, rowsPerStep } = countingBackend();
      const layer = await Embedding.create(
        { inputDim: 100, outputDim: 2, seed: 1, embeddingsRegularizer: options.regularizer ?? null },
        { backend },
      );
      layer.compile({ optimizer: options.optimizer, loss: 'mse' });
      await layer.trainOnBatch([[1, 2]], new Float32Array(4));
      expect(rowsPerStep).toEqual([100]);
    }
  });

  it('lazy Adam touches only looked-up rows', async () => {
    const { backend, rowsPerStep } = countingBackend();
    const layer = await Embedding.create({ inputDim: 100, outputDim: 2, seed: 1 }, { backend });
    layer.compile({ className: 'Adam', config: { lazy: true } }, 'mse');
    await layer.trainOnBatch([[1, 2, 1]], new Float32Array(6));
    expect(rowsPerStep).toEqual([2]);
  });
});

describe('embedding dropout (Gal and Ghahramani 2016)', () => {
  it('drops a word type at every position of its sequence and scales kept rows by 1/(1-p)', async () => {
    const p = 0.5;
    // Every row is the same unit vector, so the prediction of each position shows its dropout scale.
    const weights = [Float32Array.from({ length: 20 }, () => 1)];
    const layer = await Embedding.create(
      { inputDim: 10, outputDim: 2, embeddingsDropout: p, seed: 3 },
      { backend: createMemoryBackend(), weights },
    );
    layer.compile({ className: 'SGD', config: { learning_rate: 1 } }, 'mse');
    const x = [
      [1, 2, 1, 3, 2, 1, 4, 4],
      [1, 1, 2, 2, 3, 3, 4, 4],
    ];
    // With targets 0 and mse, the step moves row r by -lr * sum(2 * scale * pred / n) over its positions.
    const y = new Float32Array(2 * 8 * 2);
    await layer.trainOnBatch(x, y);
    const w = (await layer.getWeights())[0]!;
    const moved = (row: number) => 1 - w[row * 2]!;
    // Row 5..9 never looked up: unchanged.
    for (let r = 5; r < 10; r++) expect(w[r * 2]).toBe(1);
    // A kept word at k positions moves by 2 * k * scale^2 / 32 with scale 2; a dropped word does not move.
    const count = (id: number, seq: number[]) => seq.filter((v) => v === id).length;
    for (const id of [1, 2, 3, 4]) {
      const m = moved(id);
      const possible = [];
      for (const keep0 of [0, 1])
        for (const keep1 of [0, 1]) possible.push((2 * (keep0 * count(id, x[0]!) + keep1 * count(id, x[1]!)) * 4) / 32);
      expect(possible.some((v) => Math.abs(v - m) < 1e-6)).toBe(true);
    }
    // At inference the layer is the identity: predict is unaffected.
    const out = await layer.predict([[5, 6]]);
    expect(Array.from(out.data)).toEqual([1, 1, 1, 1]);
  });

  it('is reproducible with a fit seed; getConfig stays pure Keras (the rate lives in layer.config)', async () => {
    const run = async () => {
      const layer = await Embedding.create(
        { inputDim: 30, outputDim: 3, embeddingsDropout: 0.3, seed: 3 },
        { backend: createMemoryBackend() },
      );
      layer.compile('sgd', 'mse');
      await layer.fit({ data: randomIndices(1, 40, 30), shape: [8, 5] }, seededTargets(2, 120), { epochs: 2, batchSize: 4, seed: 11 });
      return layer;
    };
    const [a, b] = [await run(), await run()];
    expect(Array.from((await a.getWeights())[0]!)).toEqual(Array.from((await b.getWeights())[0]!));
    expect(a.config.embeddingsDropout).toBe(0.3);
    expect('embeddings_dropout' in a.getConfig()).toBe(false);
    // An older file that wrote the key still reads.
    const read = await Embedding.fromConfig({ ...a.getConfig(), embeddings_dropout: 0.3 }, { backend: createMemoryBackend() });
    expect(read.config.embeddingsDropout).toBe(0.3);
  });
});

describe('fit, evaluate and callbacks', () => {
  it('reports per-batch and per-epoch losses; evaluate is the sample-weighted mean', async () => {
    const layer = await Embedding.create({ inputDim: 20, outputDim: 2, seed: 5 }, { backend: createMemoryBackend() });
    layer.compile('adam', 'mae');
    const x = { data: randomIndices(4, 10 * 3, 20), shape: [10, 3] };
    const y = seededTargets(6, 10 * 3 * 2);
    const batches: number[] = [];
    const epochs: number[] = [];
    await layer.fit(x, y, {
      epochs: 2,
      batchSize: 4,
      shuffle: false,
      callbacks: { onBatchEnd: (_, l) => void batches.push(l.loss), onEpochEnd: (_, l) => void epochs.push(l.loss) },
    });
    expect(batches).toHaveLength(6); // 10 samples in batches of 4: 4 + 4 + 2, twice
    expect(epochs).toHaveLength(2);
    const b = batches.slice(0, 3);
    expect(epochs[0]).toBeCloseTo((b[0]! * 4 + b[1]! * 4 + b[2]! * 2) / 10, 10);
    const whole = await layer.evaluate(x, y, { batchSize: 10 });
    const split = await layer.evaluate(x, y, { batchSize: 3 });
    expect(split).toBeCloseTo(whole, 6);
  });

  it('rejects targets of the wrong shape and an uncompiled layer, changing nothing', async () => {
    const layer = await Embedding.create({ inputDim: 5, outputDim: 2, seed: 5 }, { backend: createMemoryBackend() });
    const before = (await layer.getWeights())[0]!;
    await expect(layer.trainOnBatch([[1]], new Float32Array(2))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    layer.compile('sgd', 'mse');
    await expect(layer.trainOnBatch([[1]], new Float32Array(3))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(layer.fit([[1]], new Float32Array(2), { epochs: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(() => layer.compile('adamw', 'mse')).toThrow(/unknown optimizer "adamw".*sgd \(SGD\)/);
    expect(() => layer.compile('sgd', 'hinge')).toThrow(/unknown loss "hinge".*mse/);
    expect((await layer.getWeights())[0]).toEqual(before);
  });
});
