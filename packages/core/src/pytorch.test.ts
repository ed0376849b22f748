import { describe, expect, it } from 'vitest';
import { defineBackend } from './backend/define-backend.js';
import { resolveConfig } from './config/embedding-config.js';
import { Embedding } from './embedding.js';
import type { EmbeddingTableV2, NativeTypes } from './spec/v2/embedding-backend-v2.js';
import { readAllRows } from './tensor/rows.js';

/** An in-memory v2 backend with a native path (plain arrays as "tensors"), counting row writes. */
function memoryBackend() {
  const calls = { write: 0 };
  const backend = defineBackend({
    name: 'memory',
    supports: { training: true },
    native: { kind: 'array', read: (v) => (Array.isArray(v) ? { dtype: 'int32', shape: [v.length], data: Int32Array.from(v) } : null) },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2<NativeTypes>> {
      const d = config.outputDim;
      const w = await readAllRows(initial);
      const lookup = (ids: Int32Array, shape: readonly number[]) => {
        const data = new Float32Array(ids.length * d);
        for (let i = 0; i < ids.length; i++) data.set(w.subarray(ids[i]! * d, (ids[i]! + 1) * d), i * d);
        return { data, shape: [...shape, d] };
      };
      return {
        doLookup: (indices) => lookup(indices.data, indices.shape),
        doLookupNative: (_v, checked) => lookup(checked.data, checked.shape),
        doReadRows: (start, count) => w.slice(start * d, (start + count) * d),
        doWriteRows(start, rows) {
          calls.write++;
          w.set(rows, start * d);
        },
        doScatterAdd(rows, deltas) {
          rows.forEach((row, k) => {
            for (let c = 0; c < d; c++) w[row * d + c] = w[row * d + c]! + deltas[k * d + c]!;
          });
        },
        doDispose() {},
      };
    },
  });
  return { backend, calls };
}

async function code(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'no error';
}

const W = [
  [0.5, -0.25, 0.75],
  [0.1, 0.2, 0.3],
  [-0.4, 0.6, 0.2],
  [0.3, 0.3, -0.3],
];
const X = [
  [0, 1, 0],
  [2, 0, 3],
];
const Y = Array.from({ length: 18 }, (_, i) => Math.sin(i));

describe('PyTorch arguments in core', () => {
  it('refuses bad padding_idx, max_norm, norm_type and scale_grad_by_freq with INVALID_CONFIG naming the argument', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ paddingIdx: 2.5 }, /padding_idx.*\[-4, 4\).*received 2\.5/],
      [{ paddingIdx: '1' }, /padding_idx/],
      [{ paddingIdx: 4 }, /Padding_idx must be within num_embeddings/],
      [{ maxNorm: 0 }, /max_norm must be null or a finite number > 0/],
      [{ maxNorm: Number.NaN }, /max_norm/],
      [{ normType: 0 }, /norm_type must be a number > 0/],
      [{ scaleGradByFreq: 'yes' }, /scale_grad_by_freq must be a boolean/],
    ];
    for (const [extra, message] of bad) {
      expect(() => resolveConfig({ inputDim: 4, outputDim: 3, ...extra })).toThrow(message);
    }
    expect(resolveConfig({ inputDim: 4, outputDim: 3, paddingIdx: -4 }).paddingIdx).toBe(0);
    expect(resolveConfig({ inputDim: 4, outputDim: 3, normType: Number.POSITIVE_INFINITY }).normType).toBe(Number.POSITIVE_INFINITY);
  });

  const optimizers: unknown[] = [
    'sgd',
    { className: 'SGD', config: { learning_rate: 0.1, momentum: 0.9 } },
    { className: 'SGD', config: { learning_rate: 0.1, momentum: 0.9, nesterov: true } },
    'rmsprop',
    { className: 'RMSprop', config: { momentum: 0.5, centered: true } },
    'adam',
    { className: 'Adam', config: { amsgrad: true } },
    { className: 'Adam', config: { lazy: true } },
    'adagrad',
  ];
  for (const optimizer of optimizers) {
    for (const regularizer of [null, 'l2']) {
      it(`padding row bit-identical under ${JSON.stringify(optimizer)}${regularizer ? ' with an l2 regularizer' : ''}; moved without padding_idx`, async () => {
        const final = async (paddingIdx: number | null) => {
          const { backend } = memoryBackend();
          const layer = await Embedding.create(
            { inputDim: 4, outputDim: 3, paddingIdx, embeddingsRegularizer: regularizer },
            { backend, weights: [W] },
          );
          layer.compile(optimizer as never, 'mse');
          for (let step = 0; step < 3; step++) await layer.trainOnBatch(X, Y);
          return (await layer.getWeights())[0]!;
        };
        const given = Array.from(Float32Array.from(W[0]!));
        const padded = await final(-4);
        expect(Array.from(padded.subarray(0, 3))).toEqual(given);
        expect(Array.from(padded.subarray(3))).not.toEqual(Array.from(Float32Array.from(W.slice(1).flat())));
        expect(Array.from((await final(null)).subarray(0, 3))).not.toEqual(given);
      });
    }
  }

  it('max_norm writes back only the looked-up rows over the norm', async () => {
    const { backend, calls } = memoryBackend();
    const layer = await Embedding.create({ inputDim: 4, outputDim: 3, maxNorm: 0.5 }, { backend, weights: [W] });
    const out = await layer.predict([0, 1, 0, 1]);
    // Row 0 (norm 0.935) is rescaled once, row 1 (norm 0.374) is not; rows 2, 3 are not looked up.
    expect(calls.write).toBe(1);
    const w = (await layer.getWeights())[0]!;
    expect(Math.hypot(...w.subarray(0, 3))).toBeCloseTo(0.5, 6);
    expect(Array.from(w.subarray(6))).toEqual(Array.from(Float32Array.from(W.slice(2).flat())));
    expect(Array.from(out.data.subarray(0, 3))).toEqual(Array.from(w.subarray(0, 3)));
    await layer.predict([0, 1]);
    expect(calls.write).toBe(1);
  });

  it('lookupNative with max_norm is UNSUPPORTED_FEATURE (the table must be renormalized first); without it, it works', async () => {
    const { backend } = memoryBackend();
    const capped = await Embedding.create({ inputDim: 4, outputDim: 3, maxNorm: 0.5 }, { backend, weights: [W] });
    expect(await code(() => capped.lookupNative([0, 1]))).toBe('UNSUPPORTED_FEATURE');
    const plain = await Embedding.create({ inputDim: 4, outputDim: 3 }, { backend, weights: [W] });
    expect((plain.lookupNative([1]) as { data: Float32Array }).data).toEqual(Float32Array.from(W[1]!));
  });

  it('trainable is settable after creation: frozen steps and fit leave the table, unfreezing trains again', async () => {
    const { backend } = memoryBackend();
    const layer = await Embedding.create({ inputDim: 4, outputDim: 3 }, { backend, weights: [W] });
    layer.compile('sgd', 'mse');
    layer.trainable = false;
    expect(layer.config.trainable).toBe(false);
    expect(layer.getConfig().trainable).toBe(false);
    const before = (await layer.getWeights())[0]!;
    expect(await layer.trainOnBatch(X, Y)).toBeGreaterThan(0);
    await layer.fit(X, Y, { epochs: 2, batchSize: 1 });
    await layer.applyGradients([1], new Float32Array([1, 1, 1]));
    expect((await layer.getWeights())[0]).toEqual(before);
    layer.trainable = true;
    await layer.trainOnBatch(X, Y);
    expect((await layer.getWeights())[0]).not.toEqual(before);
    expect(await code(() => (layer.trainable = 'no' as never))).toBe('INVALID_CONFIG');
  });

  it('countParams and a Keras-like summary', async () => {
    const { backend } = memoryBackend();
    const layer = await Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10, name: 'embedding_sum', seed: 1 }, { backend });
    expect(layer.countParams()).toBe(64000);
    const text = layer.summary();
    expect(text).toContain('Model: "embedding_sum"');
    expect(text).toMatch(/ embedding_sum \(Embedding\) +\(None, 10, 64\) +64,000\n/);
    expect(text).toContain('Total params: 64,000\nTrainable params: 64,000\nNon-trainable params: 0');
    layer.trainable = false;
    expect(layer.summary()).toContain('Trainable params: 0\nNon-trainable params: 64,000');
  });

  it('fromPretrained: 2-D only, frozen by default, the padding row keeps its given values', async () => {
    const { backend } = memoryBackend();
    expect(await code(() => Embedding.fromPretrained([1, 2, 3] as never, {}, { backend }))).toBe('SHAPE_MISMATCH');
    expect(await code(() => Embedding.fromPretrained({ data: new Float32Array(6), shape: [6] }, {}, { backend }))).toBe('SHAPE_MISMATCH');
    expect(await code(() => Embedding.fromPretrained([[1, 2], [3]], {}, { backend }))).toBe('SHAPE_MISMATCH');
    const layer = await Embedding.fromPretrained({ data: Float32Array.from(W.flat()), shape: [4, 3] }, { paddingIdx: 1 }, { backend });
    expect(layer.trainable).toBe(false);
    expect(layer.config.paddingIdx).toBe(1);
    expect((await layer.getWeights())[0]).toEqual(Float32Array.from(W.flat()));
    const thawed = await Embedding.fromPretrained(W, { freeze: false }, { backend });
    expect(thawed.trainable).toBe(true);
  });
});
