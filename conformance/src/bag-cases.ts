// The `embedding-bag` group: PyTorch's nn.EmbeddingBag (sum / mean / max pooling, offsets,
// include_last_offset, per_sample_weights, padding_idx, max_norm, training), against fixtures
// computed by torch 1.13 itself in float64 (scripts/make_pytorch_bag_fixtures.py).
import {
  type BackendCapabilitiesV2,
  type BagOptions,
  EmbeddingBag,
  type EmbeddingBagConfig,
  type IndexInput,
  type StorageBound,
} from '@embedding-layer/core';
import bagFixtures from '../fixtures/pytorch-bag.json' with { type: 'json' };
import { decodeNumbers, flatten } from './decode.js';
import { check, checkFloats } from './failure.js';
import { canonicalJson, expectError, usingLayer } from './layer.js';
import { checkWithin, isExact, rowMaxes, storageBound, trainingTolerance } from './tolerance.js';
import type { CaseContext, ConformanceCase } from './types.js';

/** Relative tolerance of a pooled output against torch's float64 (float32 rows, renormalization and output rounding). */
const FORWARD_RELATIVE = 1e-6;

/** One case of `fixtures/pytorch-bag.json`. */
interface BagCase {
  id: string;
  title: string;
  kind: 'forward' | 'error' | 'configError' | 'training' | 'pretrained';
  config?: Record<string, unknown>;
  weights?: number[][];
  input?: unknown[];
  offsets?: number[];
  perSampleWeights?: unknown[];
  options?: Record<string, unknown>;
  compile?: { optimizer: unknown; loss: unknown };
  batches?: { input: unknown[]; offsets?: number[]; perSampleWeights?: number[]; target: number[] }[];
  expect: Record<string, any>;
}

function configOf(c: BagCase): EmbeddingBagConfig {
  return decodeNumbers(c.config) as EmbeddingBagConfig;
}

function bagOptions(c: { offsets?: number[]; perSampleWeights?: unknown[] }): BagOptions {
  return {
    ...(c.offsets ? { offsets: c.offsets } : {}),
    ...(c.perSampleWeights ? { perSampleWeights: c.perSampleWeights as number[] } : {}),
  };
}

/** Each bag's positions in the flat input, computed here from the fixture (2-D rows, or offsets with the last bag to the end). */
function bagsOf(c: BagCase): [number, number][] {
  const input = c.input as unknown[];
  if (Array.isArray(input[0])) {
    const width = (input[0] as unknown[]).length;
    return input.map((_, b) => [b * width, (b + 1) * width]);
  }
  const offsets = c.offsets!;
  const last = (c.config as { includeLastOffset?: boolean }).includeLastOffset === true;
  const count = last ? offsets.length - 1 : offsets.length;
  return Array.from({ length: count }, (_, b) => [offsets[b]!, b + 1 < offsets.length ? offsets[b + 1]! : input.length]);
}

/**
 * The storage's share of the tolerance of each pooled value: each row of the bag may be off by
 * the declared bound (twice: stored, then renormalized and stored again), times its weight.
 */
function pooledSlack(bound: StorageBound, c: BagCase, d: number): (i: number) => number {
  if (isExact(bound)) return () => 0;
  const table = flatten(c.weights);
  const maxes = rowMaxes(table, table.length / d, d);
  const ids = flatten(c.input);
  const weights = c.perSampleWeights ? flatten(c.perSampleWeights) : null;
  const bags = bagsOf(c);
  return (i) => {
    const [start, end] = bags[Math.floor(i / d)]!;
    let slack = 0;
    for (let p = start; p < end; p++)
      slack += 2 * Math.abs(weights ? weights[p]! : 1) * (bound.relative * maxes[ids[p]!]! + bound.absolute);
    return slack;
  };
}

const checkClose = checkWithin;

async function create(context: CaseContext, c: BagCase): Promise<EmbeddingBag> {
  const backend = await context.createBackend();
  if (c.kind === 'pretrained') return EmbeddingBag.fromPretrained(c.weights!, decodeNumbers(c.options) as never, { backend });
  return EmbeddingBag.create(configOf(c), { backend, ...(c.weights ? { weights: [c.weights] } : {}) });
}

function using(context: CaseContext, c: BagCase, body: (layer: EmbeddingBag) => Promise<void>): Promise<void> {
  return usingLayer(create(context, c), body);
}

const RUNNERS: Readonly<Record<BagCase['kind'], (c: BagCase, context: CaseContext) => Promise<void>>> = {
  async forward(c, context) {
    await using(context, c, async (layer) => {
      const bound = storageBound(layer.supports, context.tolerance);
      const d = layer.config.outputDim;
      const out = await layer.predict(c.input as IndexInput, bagOptions(c));
      check(
        canonicalJson(out.shape) === canonicalJson(c.expect.shape),
        () => `output shape: expected [${c.expect.shape}], received [${out.shape}].`,
      );
      const expected = c.expect.output as number[];
      const slack = pooledSlack(bound, c, d);
      checkClose('pooled output', out.data, expected, (i) => FORWARD_RELATIVE * (1 + Math.abs(expected[i]!)) + slack(i));
      // max_norm renormalizes the looked-up rows in the table itself, as torch does.
      const table = flatten(c.expect.weights);
      const maxes = rowMaxes(table, table.length / Math.max(1, d), d);
      const rowSlack = (i: number) =>
        FORWARD_RELATIVE * Math.abs(table[i]!) + (isExact(bound) ? 0 : 2 * (bound.relative * maxes[Math.floor(i / d)]! + bound.absolute));
      checkClose('table after the forward pass', (await layer.getWeights())[0]!, table, rowSlack);
    });
  },

  async error(c, context) {
    await using(context, c, async (layer) => {
      const before = (await layer.getWeights())[0]!;
      await expectError(() => layer.predict(c.input as IndexInput, bagOptions(c)), c.expect.error as string);
      checkFloats('the table after a refused call', (await layer.getWeights())[0]!, before);
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
    await expectError(() => EmbeddingBag.create(configOf(c), { backend: counted as never }), c.expect.error as string);
    check(created === 0, 'the backend created a table although the config was refused.');
  },

  async training(c, context) {
    await trainCase(c, context);
  },

  async pretrained(c, context) {
    await trainCase(c, context);
  },
};

async function trainCase(c: BagCase, context: CaseContext): Promise<void> {
  await using(context, c, async (layer) => {
    if (c.expect.trainable !== undefined) {
      check(layer.trainable === c.expect.trainable, () => `trainable: expected ${c.expect.trainable}, received ${layer.trainable}.`);
    }
    const bound = storageBound(layer.supports, context.tolerance);
    const d = layer.config.outputDim;
    const before = (await layer.getWeights())[0]!;
    layer.compile(c.compile as never);
    const batches = c.batches!;
    if (!layer.supports.training) {
      await expectError(
        () => layer.trainOnBatch(batches[0]!.input as IndexInput, batches[0]!.target, bagOptions(batches[0]!)),
        'UNSUPPORTED_FEATURE',
      );
      return;
    }
    const tolerance = trainingTolerance(
      layer.supports,
      (c.compile as { optimizer: unknown }).optimizer,
      batches.length,
      context.trainingTolerance ?? 1e-5,
    );
    const losses: number[] = [];
    for (const b of batches) losses.push(await layer.trainOnBatch(b.input as IndexInput, b.target, bagOptions(b)));
    const initial = Float32Array.from(flatten(c.weights));
    const final = Float32Array.from(flatten(c.expect.weights));
    const rows = final.length / Math.max(1, d);
    const a = rowMaxes(initial, rows, d);
    const f = rowMaxes(final, rows, d);
    // A lossy storage stores every changed row again at each step.
    const stores = 2 * (batches.length + 1);
    const slack = (i: number) => {
      if (isExact(bound)) return 0;
      const r = Math.floor(i / Math.max(1, d));
      return stores * (bound.relative * Math.max(a[r]!, f[r]!) + bound.absolute);
    };
    let widest = 0;
    for (let i = 0; i < final.length; i++) widest = Math.max(widest, slack(i));
    const expectedLosses = c.expect.losses as number[];
    checkClose('losses', losses, expectedLosses, (i) => (tolerance + 4 * widest) * (1 + Math.abs(expectedLosses[i]!)));
    const after = (await layer.getWeights())[0]!;
    checkClose('weights after training', after, final, (i) => tolerance * (1 + Math.abs(final[i]!)) + slack(i));
    if (c.expect.trainable === false) {
      checkFloats('a frozen table after trainOnBatch', after, before);
      await layer.fit(batches[0]!.input as IndexInput, batches[0]!.target, {
        epochs: 2,
        batchSize: 1,
        shuffle: false,
        ...bagOptions(batches[0]!),
      });
      checkFloats('a frozen table after fit', (await layer.getWeights())[0]!, before);
    }
  });
}

/** The `embedding-bag` group's cases, one per fixture case. */
export const BAG_CASES: readonly ConformanceCase[] = (bagFixtures.cases as unknown as BagCase[]).map(
  (c): ConformanceCase => ({
    id: `embedding-bag/${c.id}`,
    group: 'embedding-bag',
    title: c.title,
    ...(c.kind === 'training' || c.kind === 'pretrained' ? { requires: 'training' as const } : {}),
    ...(c.id === 'training-max-ties'
      ? {
          skip: (s: BackendCapabilitiesV2) =>
            isExact(s.storage.bound)
              ? null
              : `rows 1 and 3 start equal: after a step they differ by less than the ${s.storage.dtype} storage bound, so rounding decides which gives the max (checked on float32 storage)`,
        }
      : {}),
    run: (context) => RUNNERS[c.kind](c, context),
  }),
);
