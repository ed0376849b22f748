import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Embedding } from './embedding.js';
import { createMemoryBackend } from './testing/memory-backend.js';

/** conformance/scripts/make_keras3_fixtures.py: Keras 3's LoRA and quantize formulas in NumPy (float64 reference). */
const FIXTURE = JSON.parse(readFileSync(new URL('../../../conformance/fixtures/keras3.json', import.meta.url), 'utf8')) as Keras3Fixture;
interface LoraCase {
  id: string;
  inputDim: number;
  outputDim: number;
  rank: number;
  alpha: number;
  weights: number[];
  loraA: number[];
  loraB: number[];
  indices: number[][];
  merged: string[];
  expected: { shape: number[]; data: string[] };
}
interface TrainingCase extends Omit<LoraCase, 'merged' | 'expected'> {
  targets: number[];
  optimizer: { className: string; config: Record<string, number> };
  steps: number;
  losses: number[];
  expected: { loraA: number[]; loraB: number[]; output: { data: number[] } };
}
interface QuantCase {
  id: string;
  mode: 'int8' | 'int4';
  inputDim: number;
  outputDim: number;
  weights: string[];
  dequantized: string[];
  indices: number[] | number[][];
  expected: { data: string[] };
}
interface LoraQuantizedCase extends Omit<LoraCase, 'weights' | 'merged'> {
  weights: string[];
  savedDequantized: string[];
}
interface Keras3Fixture {
  loraQuantized: LoraQuantizedCase[];
  lora: LoraCase[];
  loraTraining: TrainingCase[];
  int4: QuantCase[];
  int8: QuantCase[];
}

const fromHex = (hex: readonly string[]) => new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    if (Math.abs(actual[i]! - e) > relative * (1 + Math.abs(e))) throw new Error(`at ${i}: expected ${e}, received ${actual[i]}`);
  }
}

async function loraLayer(c: LoraCase | TrainingCase, how: 'config' | 'enableLora') {
  const backend = createMemoryBackend();
  if (how === 'config') {
    return Embedding.create(
      { inputDim: c.inputDim, outputDim: c.outputDim, loraRank: c.rank, loraAlpha: c.alpha },
      { backend, weights: [c.weights, Float32Array.from(c.loraA), Float32Array.from(c.loraB)] },
    );
  }
  const layer = await Embedding.create({ inputDim: c.inputDim, outputDim: c.outputDim, seed: 1 }, { backend, weights: [c.weights] });
  layer.enableLora(c.rank, { alpha: c.alpha });
  await layer.setWeights([c.weights, Float32Array.from(c.loraA), Float32Array.from(c.loraB)]);
  return layer;
}

describe("Keras 3's LoRA: embeddings + (a @ b) * (alpha / rank)", () => {
  for (const c of FIXTURE.lora) {
    for (const how of ['config', 'enableLora'] as const) {
      it(`${c.id} (${how === 'config' ? 'loraRank in the config' : 'enableLora'}): lookups, getWeights, the merged table`, async () => {
        const layer = await loraLayer(c, how);
        expect(layer.loraEnabled).toBe(true);
        expect(layer.config.loraRank).toBe(c.rank);
        expect(layer.config.loraAlpha).toBe(c.alpha);
        const out = await layer.predict(c.indices);
        expect(out.shape).toEqual(c.expected.shape);
        expect(bits(out.data)).toEqual(bits(fromHex(c.expected.data)));
        // Keras 3's layer.weights order: embeddings, lora_embeddings_a, lora_embeddings_b.
        const w = await layer.getWeights();
        expect(w.map((x) => Array.from(x))).toEqual([c.weights, c.loraA, c.loraB].map((x) => Array.from(Float32Array.from(x))));
        expect(bits(await layer.readMergedRows(0, c.inputDim))).toEqual(bits(fromHex(c.merged)));
        expect(layer.countParams()).toBe(c.inputDim * c.outputDim + c.rank * (c.inputDim + c.outputDim));
        await layer.mergeLora();
        expect(layer.loraEnabled).toBe(false);
        expect(layer.config.loraRank).toBeNull();
        const merged = await layer.getWeights();
        expect(merged.length).toBe(1);
        expect(bits(merged[0]!)).toEqual(bits(fromHex(c.merged)));
        expect(bits((await layer.predict(c.indices)).data)).toEqual(bits(fromHex(c.expected.data)));
      });
    }
  }

  for (const c of FIXTURE.loraTraining) {
    it(`${c.id}: a and b follow the float64 reference, the table does not move`, async () => {
      const layer = await loraLayer(c, 'config');
      layer.compile(c.optimizer, 'mse');
      const n = c.indices.flat().length;
      const losses: number[] = [];
      for (let s = 0; s < c.steps; s++)
        losses.push(await layer.trainOnBatch(c.indices, Float32Array.from(c.targets.slice(0, n * c.outputDim))));
      closeTo(losses, c.losses, 1e-6);
      const [table, a, b] = await layer.getWeights();
      expect(Array.from(table!)).toEqual(Array.from(Float32Array.from(c.weights)));
      closeTo(a!, c.expected.loraA, 1e-6);
      closeTo(b!, c.expected.loraB, 1e-6);
      closeTo((await layer.predict(c.indices)).data, c.expected.output.data, 1e-6);
    });
  }

  it('enableLora: b starts at zeros (the output does not change), a is he_uniform within sqrt(6 / input_dim), seeded', async () => {
    const make = async () => {
      const layer = await Embedding.create({ inputDim: 50, outputDim: 4, seed: 9 }, { backend: createMemoryBackend() });
      const before = (await layer.predict([1, 7, 49])).data;
      layer.enableLora(3);
      return { layer, before };
    };
    const { layer, before } = await make();
    expect(Array.from((await layer.predict([1, 7, 49])).data)).toEqual(Array.from(before));
    const [, a, b] = await layer.getWeights();
    expect(Array.from(b!)).toEqual(new Array(12).fill(0));
    const limit = Math.sqrt(6 / 50);
    expect(Math.max(...Array.from(a!, Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...Array.from(a!, Math.abs))).toBeGreaterThan(limit * 0.8);
    expect(layer.config.loraAlpha).toBe(3);
    const again = await make();
    expect(Array.from((await again.layer.getWeights())[1]!)).toEqual(Array.from(a!));
    expect(layer.summary()).toContain(`Trainable params: ${3 * 54}`);
  });

  it("refuses as Keras does: a constraint, enabling twice, a bad rank; setWeights needs Keras's three arrays", async () => {
    const constrained = await Embedding.create(
      { inputDim: 4, outputDim: 2, embeddingsConstraint: 'non_neg' },
      { backend: createMemoryBackend() },
    );
    expect(() => constrained.enableLora(2)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    const layer = await Embedding.create({ inputDim: 4, outputDim: 2 }, { backend: createMemoryBackend() });
    expect(() => layer.enableLora(0)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    layer.enableLora(2);
    expect(() => layer.enableLora(2)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    await expect(layer.setWeights([new Float32Array(8)])).rejects.toMatchObject({ code: 'INVALID_WEIGHTS' });
    await expect(layer.setWeights([new Float32Array(8), new Float32Array(8), new Float32Array(3)])).rejects.toMatchObject({
      code: 'INVALID_WEIGHTS',
    });
    await expect(Embedding.create({ inputDim: 4, outputDim: 2, loraAlpha: 2 }, { backend: createMemoryBackend() })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });

  it('Keras 3 configs: lora_rank / lora_alpha are read; the Keras 2 getConfig() does not write them', async () => {
    const layer = await Embedding.fromConfig(
      { class_name: 'Embedding', config: { input_dim: 5, output_dim: 3, lora_rank: 2, lora_alpha: 8 } },
      { backend: createMemoryBackend() },
    );
    expect(layer.loraEnabled).toBe(true);
    expect(layer.config.loraAlpha).toBe(8);
    expect(layer.getConfig()).not.toHaveProperty('lora_rank');
  });
});

describe("Keras 3's quantize(mode)", () => {
  for (const c of [...FIXTURE.int4, ...FIXTURE.int8]) {
    it(`${c.id}: lookups become Keras's q / scale, bit for bit, and training leaves the quantized table`, async () => {
      const layer = await Embedding.create(
        { inputDim: c.inputDim, outputDim: c.outputDim },
        { backend: createMemoryBackend(), weights: [fromHex(c.weights)] },
      );
      await layer.quantize(c.mode);
      expect(layer.quantizationMode).toBe(c.mode);
      expect(bits((await layer.predict(c.indices)).data)).toEqual(bits(fromHex(c.expected.data)));
      layer.compile('sgd', 'mse');
      await layer.trainOnBatch([0], new Float32Array(c.outputDim).fill(3));
      expect(bits((await layer.getWeights())[0]!)).toEqual(bits(fromHex(c.dequantized)));
      await expect(layer.quantize(c.mode)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    });
  }

  for (const c of FIXTURE.loraQuantized) {
    it(`${c.id}: lookups are Keras's _int4_call (q / scale + LoRA), mergeLora quantizes the merged table again as save_own_variables`, async () => {
      const layer = await Embedding.create(
        { inputDim: c.inputDim, outputDim: c.outputDim, loraRank: c.rank, loraAlpha: c.alpha },
        { backend: createMemoryBackend(), weights: [fromHex(c.weights), Float32Array.from(c.loraA), Float32Array.from(c.loraB)] },
      );
      await layer.quantize('int4');
      expect(bits((await layer.predict(c.indices)).data)).toEqual(bits(fromHex(c.expected.data)));
      await layer.mergeLora();
      expect(bits((await layer.getWeights())[0]!)).toEqual(bits(fromHex(c.savedDequantized)));
      // Rows written to a quantized layer are quantized too.
      await layer.writeRows(0, fromHex(c.weights).subarray(0, c.outputDim));
      const int4 = FIXTURE.int4.find((q) => q.inputDim === c.inputDim && q.outputDim === c.outputDim)!;
      expect(bits(await layer.readRows(0, 1))).toEqual(bits(fromHex(int4.dequantized).subarray(0, c.outputDim)));
    });
  }

  it("refuses a mode Keras does not name ('int7')", async () => {
    const layer = await Embedding.create({ inputDim: 2, outputDim: 2 }, { backend: createMemoryBackend() });
    await expect(layer.quantize('int7' as 'int8')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(layer.quantizationMode).toBeNull();
  });
});
