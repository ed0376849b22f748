// The `keras3-lora` and `int4` groups: Keras 3's LoRA (enable_lora, lora_rank / lora_alpha, the
// merged table, training a and b) and its int8 / per-channel int4 quantization (`quantize(mode)`,
// and int4 storage where a backend declares it), against fixtures computed from Keras 3's
// formulas in NumPy (scripts/make_keras3_fixtures.py; float64 for LoRA, Keras's own float32
// steps for quantization).
import { Embedding, type IndexInput } from '@embedding-layer/core';
import { STORAGE, toIndexTensor } from '@embedding-layer/core/backend';
import keras3 from '../fixtures/keras3.json' with { type: 'json' };
import { check } from './failure.js';
import { expectError } from './layer.js';
import { checkWithin, isExact, rowMaxes, storageBound, toleranceOf, trainingTolerance } from './tolerance.js';
import type { CaseContext, ConformanceCase } from './types.js';

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
interface LoraTrainingCase extends Omit<LoraCase, 'merged' | 'expected'> {
  targets: number[];
  optimizer: { className: string; config: Record<string, number> };
  steps: number;
  losses: number[];
  expected: { loraA: number[]; loraB: number[]; output: { data: number[] } };
}
interface QuantizeCase {
  id: string;
  mode: 'int8' | 'int4';
  inputDim: number;
  outputDim: number;
  weights: string[];
  dequantized: string[];
  indices: number[] | number[][];
  expected: { shape: number[]; data: string[] };
}

interface LoraQuantizedCase extends Omit<LoraCase, 'weights' | 'merged'> {
  weights: string[];
  savedDequantized: string[];
}

const FIXTURE = keras3 as unknown as {
  loraQuantized: LoraQuantizedCase[];
  lora: LoraCase[];
  loraTraining: LoraTrainingCase[];
  int4: QuantizeCase[];
  int8: QuantizeCase[];
};

/** float32 values from big-endian hex bits. */
function fromHex(hex: readonly string[]): Float32Array {
  return new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
}

async function using(make: () => Promise<Embedding>, body: (layer: Embedding) => Promise<void>): Promise<void> {
  const layer = await make();
  try {
    await body(layer);
  } finally {
    await layer.dispose();
  }
}

/** The rows of a row-major table that a lookup of `input` gathers. */
function idsOf(input: IndexInput, inputDim: number): Int32Array {
  return toIndexTensor(input, inputDim).data;
}

function loraLayer(context: CaseContext, c: LoraCase | LoraTrainingCase, how: 'config' | 'enableLora'): () => Promise<Embedding> {
  return async () => {
    const backend = await context.createBackend();
    const a = Float32Array.from(c.loraA);
    const b = Float32Array.from(c.loraB);
    if (how === 'config') {
      return Embedding.create(
        { inputDim: c.inputDim, outputDim: c.outputDim, loraRank: c.rank, loraAlpha: c.alpha },
        { backend, weights: [c.weights, a, b] },
      );
    }
    const layer = await Embedding.create({ inputDim: c.inputDim, outputDim: c.outputDim }, { backend, weights: [c.weights] });
    layer.enableLora(c.rank, { alpha: c.alpha });
    await layer.setWeights([c.weights, a, b]);
    return layer;
  };
}

function loraLookupCase(c: LoraCase, how: 'config' | 'enableLora'): ConformanceCase {
  return {
    id: `keras3-lora/${c.id} (${how})`,
    group: 'keras3-lora',
    title: `${how === 'config' ? 'loraRank / loraAlpha in the config' : 'enableLora(rank, { alpha }) then setWeights([table, a, b])'}: lookups are E + (a @ b) * alpha / rank, getWeights is [table, a, b], mergeLora folds it in`,
    run: (context) =>
      using(loraLayer(context, c, how), async (layer) => {
        const bound = storageBound(layer.supports, context.tolerance);
        const d = c.outputDim;
        const table = Float32Array.from(c.weights);
        const ids = idsOf(c.indices, c.inputDim);
        // The stored table may differ from E by its bound; a and b live in core (float32, exact).
        const out = await layer.predict(c.indices);
        checkWithin('lookup with LoRA', out.data, fromHex(c.expected.data), toleranceOf(bound, rowMaxes(table, c.inputDim, d), ids, d));
        const w = await layer.getWeights();
        check(
          w.length === 3,
          () =>
            `getWeights with LoRA enabled: expected Keras 3's [embeddings, lora_embeddings_a, lora_embeddings_b], received ${w.length} arrays.`,
        );
        checkWithin('getWeights()[1] (lora_embeddings_a)', w[1]!, Float32Array.from(c.loraA), () => 0);
        checkWithin('getWeights()[2] (lora_embeddings_b)', w[2]!, Float32Array.from(c.loraB), () => 0);
        check(
          layer.config.loraRank === c.rank && layer.config.loraAlpha === c.alpha,
          'config.loraRank / loraAlpha must be the rank and alpha enabled.',
        );
        await layer.mergeLora();
        check(!layer.loraEnabled && layer.config.loraRank === null, 'after mergeLora, LoRA must be disabled and config.loraRank null.');
        const merged = fromHex(c.merged);
        const all = Int32Array.from({ length: c.inputDim }, (_, i) => i);
        // Merging reads the stored table and stores the merged rows again: two storage roundings.
        const twice = { relative: 2 * bound.relative, absolute: 2 * bound.absolute };
        const maxes = rowMaxes(table, c.inputDim, d).map((m, r) => Math.max(m, rowMaxes(merged, c.inputDim, d)[r]!));
        checkWithin(
          'the merged table (getWeights()[0] after mergeLora)',
          (await layer.getWeights())[0]!,
          merged,
          toleranceOf(twice, maxes, all, d),
        );
      }),
  };
}

function loraTrainingCase(c: LoraTrainingCase): ConformanceCase {
  return {
    id: `keras3-lora/${c.id}`,
    group: 'keras3-lora',
    title: 'trainOnBatch trains lora_embeddings_a and lora_embeddings_b as the float64 reference, and leaves the table',
    requires: 'training',
    skip: (s) =>
      isExact(s.storage.bound)
        ? null
        : `the gradient of a and b goes through the stored table; checked on float32 storage (${s.storage.dtype} is lossy)`,
    run: (context) =>
      using(loraLayer(context, c, 'config'), async (layer) => {
        layer.compile(c.optimizer, 'mse');
        const n = c.indices.flat().length;
        const targets = Float32Array.from(c.targets.slice(0, n * c.outputDim));
        if (!layer.supports.training) {
          await expectError(() => layer.trainOnBatch(c.indices, targets), 'UNSUPPORTED_FEATURE');
          return;
        }
        const tolerance = trainingTolerance(layer.supports, c.optimizer, c.steps, context.trainingTolerance ?? 1e-5);
        const close = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>) =>
          checkWithin(what, actual, expected, (i) => tolerance * (1 + Math.abs(expected[i]!)));
        const losses: number[] = [];
        for (let s = 0; s < c.steps; s++) losses.push(await layer.trainOnBatch(c.indices, targets));
        close('losses', losses, c.losses);
        const [table, a, b] = await layer.getWeights();
        checkWithin('the frozen table after training', table!, Float32Array.from(c.weights), () => 0);
        close('lora_embeddings_a after training', a!, c.expected.loraA);
        close('lora_embeddings_b after training', b!, c.expected.loraB);
        close('lookup after training', (await layer.predict(c.indices)).data, c.expected.output.data);
      }),
  };
}

const loraErrors: ConformanceCase = {
  id: 'keras3-lora/errors',
  group: 'keras3-lora',
  title:
    'enableLora refuses as Keras 3 does (an embeddings constraint, enabling twice) with INVALID_CONFIG; setWeights of a LoRA layer needs three arrays',
  run: async (context) => {
    await using(
      async () =>
        Embedding.create({ inputDim: 4, outputDim: 2, embeddingsConstraint: 'non_neg' }, { backend: await context.createBackend() }),
      async (layer) => {
        await expectError(() => layer.enableLora(2), 'INVALID_CONFIG');
      },
    );
    await using(
      async () => Embedding.create({ inputDim: 4, outputDim: 2, seed: 3 }, { backend: await context.createBackend() }),
      async (layer) => {
        const before = (await layer.predict([0, 1, 2, 3])).data;
        layer.enableLora(2);
        // b starts at zeros: enabling LoRA does not change the output.
        checkWithin('lookup right after enableLora', (await layer.predict([0, 1, 2, 3])).data, before, () => 0);
        await expectError(() => layer.enableLora(2), 'INVALID_CONFIG');
        await expectError(() => layer.setWeights([new Float32Array(8)]), 'INVALID_WEIGHTS');
      },
    );
  },
};

function quantizeCase(c: QuantizeCase): ConformanceCase {
  return {
    id: `int4/quantize ${c.id}`,
    group: 'int4',
    title: `quantize('${c.mode}') as Keras 3 names it: lookups are Keras's q / scale`,
    run: (context) =>
      using(
        async () =>
          Embedding.create(
            { inputDim: c.inputDim, outputDim: c.outputDim },
            { backend: await context.createBackend(), weights: [fromHex(c.weights)] },
          ),
        async (layer) => {
          await layer.quantize(c.mode);
          check(layer.quantizationMode === c.mode, () => `quantizationMode: expected ${c.mode}, received ${layer.quantizationMode}.`);
          const bound = storageBound(layer.supports, context.tolerance);
          const dequantized = fromHex(c.dequantized);
          // The quantized rows are stored again by the backend's own storage (exact on float32).
          const tolerance = toleranceOf(bound, rowMaxes(dequantized, c.inputDim, c.outputDim), idsOf(c.indices, c.inputDim), c.outputDim);
          checkWithin(`lookup after quantize('${c.mode}')`, (await layer.predict(c.indices)).data, fromHex(c.expected.data), tolerance);
          await expectError(() => layer.quantize(c.mode), 'INVALID_CONFIG');
        },
      ),
  };
}

function int4StorageCase(c: QuantizeCase): ConformanceCase {
  return {
    id: `int4/storage ${c.id}`,
    group: 'int4',
    title:
      "a backend that declares int4 storage stores Keras 3's per-channel int4: lookups of a table it was given are Keras's q / scale, bit for bit",
    skip: (s) => (s.storage.dtype === 'int4' ? null : `the backend stores ${s.storage.dtype}, not int4 (supports.storage)`),
    run: (context) =>
      using(
        async () =>
          Embedding.create(
            { inputDim: c.inputDim, outputDim: c.outputDim },
            { backend: await context.createBackend(), weights: [fromHex(c.weights)] },
          ),
        async (layer) => {
          const b = layer.supports.storage.bound;
          check(
            b.relative >= STORAGE.int4.bound.relative && b.absolute >= STORAGE.int4.bound.absolute,
            () =>
              `supports.storage: int4 must declare at least core's bound ${JSON.stringify(STORAGE.int4.bound)}, declares ${JSON.stringify(b)}.`,
          );
          checkWithin('lookup from int4 storage', (await layer.predict(c.indices)).data, fromHex(c.expected.data), () => 0);
          const weights = fromHex(c.weights);
          checkWithin(
            'getWeights from int4 storage, within the declared bound of the table given',
            (await layer.getWeights())[0]!,
            weights,
            toleranceOf(
              b,
              rowMaxes(weights, c.inputDim, c.outputDim),
              Int32Array.from({ length: c.inputDim }, (_, i) => i),
              c.outputDim,
            ),
          );
        },
      ),
  };
}

function loraQuantizedCase(c: LoraQuantizedCase): ConformanceCase {
  return {
    id: `int4/lora ${c.id}`,
    group: 'int4',
    title:
      "quantize('int4') with LoRA: lookups are Keras's _int4_call (q / scale + the LoRA delta); mergeLora quantizes the merged table again, as save_own_variables",
    run: (context) =>
      using(
        async () =>
          Embedding.create(
            { inputDim: c.inputDim, outputDim: c.outputDim, loraRank: c.rank, loraAlpha: c.alpha },
            {
              backend: await context.createBackend(),
              weights: [fromHex(c.weights), Float32Array.from(c.loraA), Float32Array.from(c.loraB)],
            },
          ),
        async (layer) => {
          await layer.quantize('int4');
          const bound = storageBound(layer.supports, context.tolerance);
          const expected = fromHex(c.expected.data);
          const ids = idsOf(c.indices, c.inputDim);
          // The quantized table is stored by the backend (exact on float32); the delta comes from core.
          const quantized = fromHex(int4Dequantized(c));
          checkWithin(
            'lookup of a quantized layer with LoRA',
            (await layer.predict(c.indices)).data,
            expected,
            toleranceOf(bound, rowMaxes(quantized, c.inputDim, c.outputDim), ids, c.outputDim),
          );
          await layer.mergeLora();
          const saved = fromHex(c.savedDequantized);
          const all = Int32Array.from({ length: c.inputDim }, (_, i) => i);
          // On lossy storage the merged rows are read back within the bound before they are quantized again: a value
          // near a rounding boundary may land on the neighbouring int4 level, one step (max|row| + 1e-7) / 7 away.
          const requantized = isExact(bound) ? bound : { relative: bound.relative + 1 / 7, absolute: bound.absolute + 1e-7 / 7 };
          checkWithin(
            'the merged, re-quantized table',
            (await layer.getWeights())[0]!,
            saved,
            toleranceOf(requantized, rowMaxes(saved, c.inputDim, c.outputDim), all, c.outputDim),
          );
        },
      ),
  };
}

/** The int4 dequantized table of the same weights (the `int4` case of this shape). */
function int4Dequantized(c: LoraQuantizedCase): string[] {
  return FIXTURE.int4.find((q) => q.inputDim === c.inputDim && q.outputDim === c.outputDim)!.dequantized;
}

/** The `keras3-lora` and `int4` groups' cases. */
export const KERAS3_CASES: readonly ConformanceCase[] = [
  ...FIXTURE.lora.flatMap((c) => [loraLookupCase(c, 'config'), loraLookupCase(c, 'enableLora')]),
  ...FIXTURE.loraTraining.map(loraTrainingCase),
  loraErrors,
  ...[...FIXTURE.int4, ...FIXTURE.int8].map(quantizeCase),
  ...FIXTURE.int4.map(int4StorageCase),
  ...FIXTURE.loraQuantized.map(loraQuantizedCase),
];
