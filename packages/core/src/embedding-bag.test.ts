import { describe, expect, it } from 'vitest';
import { EmbeddingBag } from './embedding-bag.js';
import { EmbeddingError } from './errors/embedding-error.js';
import { createMemoryBackend } from './testing/memory-backend.js';

// Expected values printed by torch 1.13 (F.embedding_bag on float64) for this table:
// w = torch.arange(12).reshape(6, 2) - 5, i.e. row r is [2r - 5, 2r - 4].
const W = Array.from({ length: 6 }, (_, r) => [2 * r - 5, 2 * r - 4]);
const X = [1, 2, 0, 4, 5, 0, 0];

async function bag(config: Record<string, unknown>, weights: number[][] = W) {
  return EmbeddingBag.create({ inputDim: weights.length, outputDim: 2, ...config }, { backend: createMemoryBackend(), weights: [weights] });
}

async function codeOf(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (EmbeddingError.isInstance(error)) return error.code;
    throw error;
  }
  return 'none';
}

describe('EmbeddingBag forward (torch 1.13 values)', () => {
  it.each([
    ['mean', [-2, -1, 0, 0, 4, 5, 0, 0]],
    ['sum', [-4, -2, 0, 0, 8, 10, 0, 0]],
    ['max', [-1, 0, 0, 0, 5, 6, 0, 0]],
  ])('%s with padding_idx 0: padding left out of the bag and the count; padding-only bags are zeros', async (mode, expected) => {
    const layer = await bag({ mode, paddingIdx: 0 });
    const out = await layer.predict(X, { offsets: [0, 2, 3, 5] });
    expect(out.shape).toEqual([4, 2]);
    expect(Array.from(out.data)).toEqual(expected);
  });

  it('mean with padding_idx: the padding position is not counted in a mixed bag', async () => {
    const out = await (await bag({ mode: 'mean', paddingIdx: 0 })).predict(X, { offsets: [0, 3, 5] });
    expect(Array.from(out.data)).toEqual([-2, -1, 4, 5, 0, 0]);
  });

  it('max with empty bags: zeros; negative maxima kept', async () => {
    const out = await (await bag({ mode: 'max' })).predict(X, { offsets: Int32Array.from([0, 0, 3, 3]) });
    expect(Array.from(out.data)).toEqual([0, 0, -1, 0, 0, 0, 5, 6]);
  });

  it("torch's int64 tensors: BigInt64Array indices and offsets; a fractional offset is refused", async () => {
    const layer = await bag({ mode: 'sum', paddingIdx: 0 });
    const out = await layer.predict(BigInt64Array.from(X.map(BigInt)), { offsets: BigInt64Array.from([0n, 2n, 3n, 5n]) });
    expect(Array.from(out.data)).toEqual([-4, -2, 0, 0, 8, 10, 0, 0]);
    expect(await codeOf(() => layer.predict(X, { offsets: Float64Array.from([0, 2.5]) }))).toBe('SHAPE_MISMATCH');
  });

  it('includeLastOffset: offsets end with the length (CSR)', async () => {
    const out = await (await bag({ mode: 'sum', includeLastOffset: true })).predict(X, { offsets: [0, 4, 7] });
    expect(Array.from(out.data)).toEqual([-6, -2, -5, -2]);
  });

  it('2-D input with per-sample weights shaped like it (sum)', async () => {
    const out = await (await bag({ mode: 'sum' })).predict(
      [
        [1, 2],
        [3, 4],
      ],
      {
        perSampleWeights: [
          [1, 2],
          [3, 4],
        ],
      },
    );
    expect(out.shape).toEqual([2, 2]);
    expect(Array.from(out.data)).toEqual([-5, -2, 15, 22]);
  });

  it("refuses torch's bad inputs with typed errors", async () => {
    const sum = await bag({ mode: 'sum' });
    const mean = await bag({});
    expect(mean.config.mode).toBe('mean');
    expect(await codeOf(() => sum.predict(X, { offsets: [1, 3] }))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => sum.predict(X, { offsets: [0, 4, 2] }))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => sum.predict(X, { offsets: [0, 4, 9] }))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => sum.predict(X))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => sum.predict([[1, 2]], { offsets: [0] }))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => sum.predict([[[1]]]))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => sum.predict(X, { offsets: [0], perSampleWeights: [1, 2] }))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => mean.predict(X, { offsets: [0], perSampleWeights: X.map(() => 1) }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => sum.predict([1, 6], { offsets: [0] }))).toBe('INVALID_INDEX');
    expect(await codeOf(() => bag({ mode: 'max', scaleGradByFreq: true }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => bag({ mode: 'median' }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => bag({ maskZero: true }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => EmbeddingBag.fromPretrained(W, { maskZero: true } as never, { backend: createMemoryBackend() }))).toBe(
      'INVALID_CONFIG',
    );
    const last = await bag({ mode: 'sum', includeLastOffset: true });
    expect(await codeOf(() => last.predict(X, { offsets: [0, 4, 5] }))).toBe('SHAPE_MISMATCH');
    expect(await codeOf(() => last.predict(X, { offsets: [] }))).toBe('SHAPE_MISMATCH');
    const message = await sum.predict(X, { offsets: [0, 4, 2] }).catch((e: Error) => e.message);
    expect(message).toContain('offsets[2] = 2');
  });
});

describe('EmbeddingBag gradients (torch 1.13 values, SGD lr 1 through applyGradients)', () => {
  it('max routes each column to the first row that gave the max (torch tie rule)', async () => {
    const w = [
      [1, 5],
      [1, 5],
      [2, 0],
    ];
    const layer = await bag({ mode: 'max' }, w);
    // torch: grad = [[0, 10], [0, 0], [1, 0]]
    await layer.applyGradients([0, 1, 2, 1], Float32Array.from([1, 10]), { offsets: [0], learningRate: 1 });
    expect(Array.from((await layer.getWeights())[0]!)).toEqual([1, -5, 1, 5, 1, 0]);
  });

  it('mean with padding_idx and scale_grad_by_freq: 1 / count (padding out), then 1 / frequency', async () => {
    const w = [
      [1, 5],
      [-1, 5],
      [2, 0],
    ];
    const layer = await bag({ mode: 'mean', paddingIdx: 0, scaleGradByFreq: true }, w);
    const out = await layer.predict([1, 0, 1, 2], { offsets: [0] });
    expect(out.data[1]).toBeCloseTo(10 / 3, 6);
    // Each non-padding position gets [1, 10] / 3; row 1 (twice) is then divided by 2, row 2 (once) by 1:
    // grad = [[0, 0], [1/3, 10/3], [1/3, 10/3]]. torch 1.13's CPU kernel gives row 2 [1/6, 10/6]: it divides
    // by the wrong row's count (pytorch/pytorch#190063, fixed by #190264); its CUDA kernel and nn.Embedding agree with this.
    await layer.applyGradients([1, 0, 1, 2], Float32Array.from([1, 10]), { offsets: [0], learningRate: 1 });
    const after = (await layer.getWeights())[0]!;
    const expected = [1, 5, -1 - 1 / 3, 5 - 10 / 3, 2 - 1 / 3, 0 - 10 / 3];
    for (let i = 0; i < 6; i++) expect(after[i]).toBeCloseTo(expected[i]!, 6);
  });

  it('sum with per-sample weights scales each row gradient by its weight', async () => {
    const layer = await bag({ mode: 'sum' });
    await layer.applyGradients([1, 2, 1], Float32Array.from([1, -1]), { offsets: [0], perSampleWeights: [2, 3, 0.5], learningRate: 1 });
    const after = (await layer.getWeights())[0]!;
    // row 1: -(2 + 0.5) * [1, -1]; row 2: -3 * [1, -1]
    expect(Array.from(after.subarray(2, 6))).toEqual([-3 - 2.5, -2 + 2.5, -1 - 3, 0 + 3]);
  });
});

describe('EmbeddingBag fit and lifecycle', () => {
  it('fit over ragged bags, one bag a step: offsets re-based per batch (hand-computed SGD)', async () => {
    // Rows [0], [1], [2], [3]; bags [1, 2] and [3] (sum); targets 0; mse; SGD 0.5.
    // Step 1: out 3, loss 9, dL/dout 6: rows 1 and 2 -= 3. Step 2: out 3, loss 9: row 3 -= 3.
    const layer = await EmbeddingBag.create(
      { inputDim: 4, outputDim: 1, mode: 'sum' },
      { backend: createMemoryBackend(), weights: [[[0], [1], [2], [3]]] },
    );
    layer.compile({ className: 'SGD', config: { learning_rate: 0.5 } }, 'mse');
    const history = await layer.fit([1, 2, 3], [[0], [0]], { offsets: [0, 2], batchSize: 1, shuffle: false });
    expect(history.history.loss).toEqual([9]);
    expect(Array.from((await layer.getWeights())[0]!)).toEqual([0, -2, -1, 0]);
  });

  it('refuses calls after dispose with DisposedError', async () => {
    const layer = await bag({ mode: 'sum' });
    await layer.dispose();
    expect(await codeOf(() => layer.predict(X, { offsets: [0] }))).toBe('LAYER_DISPOSED');
  });
});

describe('EmbeddingBag summary', () => {
  it("Keras's one-layer summary: (None, outputDim), the table's parameters, frozen or not", async () => {
    const layer = await EmbeddingBag.create({ inputDim: 1000, outputDim: 64, name: 'bags' }, { backend: createMemoryBackend() });
    const text = layer.summary();
    expect(text).toContain(' bags (EmbeddingBag)');
    expect(text).toMatch(/\(None, 64\)\s+64,000/);
    expect(text).toContain('Trainable params: 64,000');
    layer.trainable = false;
    expect(layer.summary()).toContain('Non-trainable params: 64,000');
  });
});
