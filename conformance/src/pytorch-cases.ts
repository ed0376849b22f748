// The `pytorch` group: PyTorch's padding_idx, max_norm / norm_type, scale_grad_by_freq and
// from_pretrained, against fixtures computed by torch 1.13 itself in float64
// (scripts/make_pytorch_fixtures.py).
import { Embedding, type EmbeddingConfig, type IndexInput, type StorageBound } from '@embedding-layer/core';
import { toIndexTensor } from '@embedding-layer/core/backend';
import pytorch from '../fixtures/pytorch.json' with { type: 'json' };
import { decodeNumbers, flatten } from './decode.js';
import { check, checkFloats } from './failure.js';
import { canonicalJson, expectError, usingLayer } from './layer.js';
import { checkWithin, isExact, rowMaxes, storageBound, trainingTolerance } from './tolerance.js';
import type { CaseContext, ConformanceCase } from './types.js';

/** Relative tolerance of a renormalized lookup against torch's float64 (float32 rounding of the norm, scale and product). */
const LOOKUP_RELATIVE = 1e-6;

/** One case of `fixtures/pytorch.json`. */
interface PytorchCase {
  id: string;
  title: string;
  kind: 'init' | 'configError' | 'lookup' | 'training' | 'pretrained' | 'roundTrip';
  config?: Record<string, unknown>;
  weights?: number[][];
  input?: unknown[];
  options?: Record<string, unknown>;
  compile?: { optimizer: unknown; loss: unknown };
  batches?: { input: unknown[]; target: number[] }[];
  expect: Record<string, any>;
}

function configOf(c: PytorchCase): EmbeddingConfig {
  return decodeNumbers(c.config) as EmbeddingConfig;
}

/**
 * |actual - expected| <= tolerance * (1 + |expected|) + slack(i): the expected values are torch's
 * float64, the layer computes in float32 (and may store with a declared error bound).
 */
function checkClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  slack: (i: number) => number,
): void {
  checkWithin(what, actual, expected, (i) => tolerance * (1 + Math.abs(expected[i]!)) + slack(i));
}

/**
 * The storage's share of the tolerance for value i of a row: the table is stored once and each
 * step (or renormalization) stores the changed rows again; the renormalization scale depends on
 * the stored values too, hence the factor 2 per storage.
 */
function storageSlack(
  bound: StorageBound,
  before: Float32Array,
  after: Float32Array,
  d: number,
  stores: number,
  rowOf: (i: number) => number,
): (i: number) => number {
  if (isExact(bound)) return () => 0;
  const rows = d === 0 ? 0 : before.length / d;
  const a = rowMaxes(before, rows, d);
  const b = rowMaxes(after, rows, d);
  return (i) => {
    const r = rowOf(i);
    return 2 * stores * (bound.relative * Math.max(a[r]!, b[r]!) + bound.absolute);
  };
}

async function create(context: CaseContext, c: PytorchCase): Promise<Embedding> {
  const backend = await context.createBackend();
  if (c.kind === 'pretrained') return Embedding.fromPretrained(c.weights!, decodeNumbers(c.options) as never, { backend });
  return Embedding.create(configOf(c), { backend, ...(c.weights ? { weights: [c.weights] } : {}) });
}

function using(context: CaseContext, c: PytorchCase, body: (layer: Embedding) => Promise<void>): Promise<void> {
  return usingLayer(create(context, c), body);
}

const RUNNERS: Readonly<Record<PytorchCase['kind'], (c: PytorchCase, context: CaseContext) => Promise<void>>> = {
  async init(c, context) {
    await using(context, c, async (layer) => {
      const row = c.expect.paddingRow as number;
      check(
        layer.config.paddingIdx === row,
        () => `config.paddingIdx: expected ${row} (torch's normalized padding_idx), received ${layer.config.paddingIdx}.`,
      );
      const w = (await layer.getWeights())[0]!;
      const d = layer.config.outputDim;
      checkFloats(`padding row ${row}`, w.subarray(row * d, (row + 1) * d), new Float32Array(d));
      // Every other row is the initializer's: the same seed without padding_idx.
      const { paddingIdx: _p, ...plain } = configOf(c);
      const other = await Embedding.create(plain, { backend: await context.createBackend() });
      try {
        const v = (await other.getWeights())[0]!;
        check(
          v.subarray(row * d, (row + 1) * d).some((x) => x !== 0),
          'the same layer without padding_idx must have a non-zero row there (the case proves nothing otherwise).',
        );
        v.fill(0, row * d, (row + 1) * d);
        checkFloats('the rows other than the padding row (vs the same seed without padding_idx)', w, v);
      } finally {
        await other.dispose();
      }
    });
  },

  async configError(c, context) {
    const backend = await context.createBackend();
    let created = 0;
    const counted = {
      ...backend,
      doCreateTable: (...args: unknown[]) => {
        created++;
        return (backend.doCreateTable as (...a: unknown[]) => unknown).apply(backend, args);
      },
    };
    await expectError(() => Embedding.create(configOf(c), { backend: counted as never }), c.expect.error as string);
    check(created === 0, 'the backend created a table although padding_idx was out of range.');
  },

  async lookup(c, context) {
    await using(context, c, async (layer) => {
      const bound = storageBound(layer.supports, context.tolerance);
      const d = layer.config.outputDim;
      const input = c.input as IndexInput;
      const ids = toIndexTensor(input, layer.config.inputDim).data;
      const before = Float32Array.from(flatten(c.weights));
      const table = Float32Array.from(flatten(c.expect.weights));
      const out = await layer.predict(input);
      check(
        canonicalJson(out.shape) === canonicalJson(c.expect.shape),
        () => `output shape: expected [${c.expect.shape}], received [${out.shape}].`,
      );
      // One float32 rescaling of torch's float64 one: a few float32 ulps relative to each value
      // (tight enough to see torch's 1e-7 in the scale on rows of norm ~1e-3), plus the storage's bound.
      const output = flatten(c.expect.output);
      const rowSlack = storageSlack(bound, before, table, d, 2, (i) => ids[Math.floor(i / d)]!);
      checkClose('output', out.data, output, 0, (i) => LOOKUP_RELATIVE * Math.abs(output[i]!) + rowSlack(i));
      // The table itself was renormalized in place (only the looked-up rows over max_norm).
      const tableSlack = storageSlack(bound, before, table, d, 2, (i) => Math.floor(i / d));
      const slack = (i: number) => LOOKUP_RELATIVE * Math.abs(table[i]!) + tableSlack(i);
      checkClose('table after the lookup', (await layer.getWeights())[0]!, table, 0, slack);
      // A second lookup finds the rows within max_norm: the table no longer changes (beyond rounding).
      await layer.predict(input);
      checkClose('table after a second lookup', (await layer.getWeights())[0]!, table, 0, slack);
    });
  },

  async training(c, context) {
    await trainCase(c, context);
  },

  async pretrained(c, context) {
    await trainCase(c, context);
  },

  async roundTrip(c, context) {
    await using(context, c, async (layer) => {
      const config = layer.getConfig() as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(c.expect.keys as Record<string, unknown>)) {
        check(
          canonicalJson(config[key]) === canonicalJson(value),
          () => `getConfig().${key}: expected ${canonicalJson(value)}, received ${canonicalJson(config[key])}.`,
        );
      }
      const again = await Embedding.fromConfig(JSON.parse(JSON.stringify(config)), { backend: await context.createBackend() });
      try {
        check(
          canonicalJson(again.getConfig()) === canonicalJson(config),
          () => `fromConfig(getConfig()) changed the config: ${canonicalJson(again.getConfig())}.`,
        );
        for (const key of ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq'] as const) {
          check(
            again.config[key] === layer.config[key],
            () => `fromConfig(getConfig()).config.${key}: expected ${layer.config[key]}, received ${again.config[key]}.`,
          );
        }
        checkFloats('weights (same seed)', (await again.getWeights())[0]!, (await layer.getWeights())[0]!);
      } finally {
        await again.dispose();
      }
    });
  },
};

async function trainCase(c: PytorchCase, context: CaseContext): Promise<void> {
  await using(context, c, async (layer) => {
    if (c.expect.trainable !== undefined) {
      check(layer.trainable === c.expect.trainable, () => `trainable: expected ${c.expect.trainable}, received ${layer.trainable}.`);
    }
    const bound = storageBound(layer.supports, context.tolerance);
    const d = layer.config.outputDim;
    const before = (await layer.getWeights())[0]!;
    layer.compile(c.compile as never);
    const batches = c.batches!;
    // A backend that applies this optimizer itself adds its declared error per step (supports.optimizers).
    const tolerance = trainingTolerance(
      layer.supports,
      (c.compile as { optimizer: unknown }).optimizer,
      batches.length,
      context.trainingTolerance ?? 1e-5,
    );
    if (!layer.supports.training) {
      await expectError(() => layer.trainOnBatch(batches[0]!.input as IndexInput, batches[0]!.target), 'UNSUPPORTED_FEATURE');
      return;
    }
    const losses: number[] = [];
    for (const b of batches) losses.push(await layer.trainOnBatch(b.input as IndexInput, b.target));
    const initial = Float32Array.from(flatten(c.weights));
    const final = Float32Array.from(flatten(c.expect.weights));
    const slack = storageSlack(bound, initial, final, d, batches.length + 1, (i) => Math.floor(i / Math.max(1, d)));
    let widest = 0;
    for (let i = 0; i < final.length; i++) widest = Math.max(widest, slack(i));
    checkClose(
      'losses',
      losses,
      c.expect.losses as number[],
      tolerance,
      (i) => 4 * widest * (1 + Math.abs((c.expect.losses as number[])[i]!)),
    );
    const after = (await layer.getWeights())[0]!;
    checkClose('weights after training', after, final, tolerance, slack);
    if (c.expect.trainable === false) {
      checkFloats('a frozen table after trainOnBatch', after, before);
      await layer.fit(batches[0]!.input as IndexInput, batches[0]!.target, { epochs: 2, batchSize: 1, shuffle: false });
      checkFloats('a frozen table after fit', (await layer.getWeights())[0]!, before);
    }
  });
}

/** The `pytorch` group's cases, one per fixture case. */
export const PYTORCH_CASES: readonly ConformanceCase[] = (pytorch.cases as unknown as PytorchCase[]).map(
  (c): ConformanceCase => ({
    id: `pytorch/${c.id}`,
    group: 'pytorch',
    title: c.title,
    ...(c.kind === 'training' || c.kind === 'pretrained' ? { requires: 'training' as const } : {}),
    run: (context) => RUNNERS[c.kind](c, context),
  }),
);
