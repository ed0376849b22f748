import { describe, expect, it } from 'vitest';
import { Embedding } from './embedding.js';
import { createMemoryBackend } from './testing/memory-backend.js';

/*
 * shareWeights: PyTorch's from_pretrained keeps the caller's tensor as the weight (torch 1.13:
 * `e = nn.Embedding.from_pretrained(t); t[0, 0] = 5` changes `e(torch.tensor([0]))`, and
 * `e.weight.data[1] = 7` changes t). Core hands the caller's array to the backend as
 * RowSource.shared; the memory backend keeps it, as adapter-onnx does.
 */
const rows = 4;
const d = 3;
const table = () => Float32Array.from({ length: rows * d }, (_, i) => i + 0.5);

describe('shareWeights', () => {
  it('shares the caller’s table both ways when asked', async () => {
    const mine = table();
    const layer = await Embedding.create(
      { inputDim: rows, outputDim: d },
      { backend: createMemoryBackend(), weights: [mine], shareWeights: true },
    );
    expect(layer.describe().sharesWeights).toBe(true);
    mine[3] = 42; // row 1, column 0, written by the caller after creation
    expect(Array.from((await layer.predict(Int32Array.of(1))).data)).toEqual([42, 4.5, 5.5]);
    await layer.writeRows(2, Float32Array.of(7, 8, 9));
    expect(Array.from(mine.subarray(6, 9))).toEqual([7, 8, 9]);
    await layer.dispose();
  });

  it('copies by default: the caller’s later writes and the layer’s writes stay apart', async () => {
    const mine = table();
    const layer = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: createMemoryBackend(), weights: [mine] });
    expect(layer.describe().sharesWeights).toBe(false);
    mine[3] = 42;
    expect(Array.from((await layer.predict(Int32Array.of(1))).data)).toEqual([3.5, 4.5, 5.5]);
    await layer.writeRows(2, Float32Array.of(7, 8, 9));
    expect(Array.from(mine)).toEqual(Array.from(table(), (v, i) => (i === 3 ? 42 : v)));
    await layer.dispose();
  });

  it('fromPretrained({ data, shape }) shares with shareWeights, as PyTorch does', async () => {
    const mine = table();
    const layer = await Embedding.fromPretrained(
      { data: mine, shape: [rows, d] },
      {},
      { backend: createMemoryBackend(), shareWeights: true },
    );
    mine[0] = -1;
    expect((await layer.predict(Int32Array.of(0))).data[0]).toBe(-1);
    await layer.dispose();
  });

  it('refuses to share what is not one float32 matrix', async () => {
    const backend = createMemoryBackend();
    const config = { inputDim: rows, outputDim: d };
    await expect(Embedding.create(config, { backend, weights: [Float64Array.from(table())], shareWeights: true })).rejects.toThrow(
      /shareWeights: true shares a float32 table: expected weights \[Float32Array\]/,
    );
    await expect(Embedding.create(config, { backend, shareWeights: true })).rejects.toThrow(/received no weights/);
    await expect(Embedding.create(config, { backend, weights: [table()], shareWeights: 'yes' as never })).rejects.toMatchObject({
      name: 'InvalidConfigError',
    });
    // The size is still checked: a shared array of the wrong size is refused like any weights.
    await expect(Embedding.create(config, { backend, weights: [new Float32Array(5)], shareWeights: true })).rejects.toMatchObject({
      name: 'InvalidWeightsError',
    });
  });
});
