import {
  type BackendCapabilitiesV2,
  Embedding,
  type EmbeddingBackend,
  type EmbeddingConfig,
  type IndexInput,
  type InvalidIndexError,
  resolveConfig,
  type StorageBound,
  type WeightInput,
} from '@embedding-layer/core';
import { initializeEmbeddings, toIndexTensor } from '@embedding-layer/core/backend';
import { BAG_CASES } from './bag-cases.js';
import { decodeInput, decodeNumbers, flatten } from './decode.js';
import { expectedKerasConfig, type InputConfig } from './expected-config.js';
import { check, checkFloats, checkShape } from './failure.js';
import { FIXTURES } from './fixtures.js';
import { KERAS3_CASES } from './keras3-cases.js';
import { canonicalJson, expectError, withLayer } from './layer.js';
import { EXTRA_CASES } from './more-cases.js';
import { PYTORCH_CASES } from './pytorch-cases.js';
import { float32Hex, fnv1a, referenceLookup } from './reference.js';
import { checkWithin, isExact, rowMaxes, storageBound, toleranceOf, trainingTolerance } from './tolerance.js';
import type { CaseContext, ConformanceCase, FixtureCase } from './types.js';

type Runner = (fixture: FixtureCase, context: CaseContext) => Promise<void>;

function configOf(fixture: FixtureCase): EmbeddingConfig {
  return decodeNumbers(fixture.config) as EmbeddingConfig;
}

/** The table the case starts from, computed without the backend: the fixture's rows, or core's seeded initializer. */
function expectedTable(fixture: FixtureCase): Float32Array {
  if (fixture.weights) return Float32Array.from(flatten(fixture.weights));
  const resolved = resolveConfig(configOf(fixture));
  return initializeEmbeddings(resolved.embeddingsInitializer, resolved.inputDim, resolved.outputDim, resolved.seed);
}

function inputOf(fixture: FixtureCase): IndexInput {
  return decodeInput(fixture.input!, configOf(fixture).inputDim);
}

/** Checks a lookup output against expected values, each within the storage bound of the table row it came from. */
function checkRows(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  ids: Int32Array,
  table: Float32Array,
  d: number,
  bound: StorageBound,
): void {
  const rows = d === 0 ? 0 : table.length / d;
  checkWithin(what, actual, expected, toleranceOf(bound, rowMaxes(table, rows, d), ids, d));
}

/** Checks a whole table (row-major) against expected values, each within the bound of its own row. */
function checkTable(what: string, actual: ArrayLike<number>, expected: Float32Array, d: number, bound: StorageBound): void {
  const rows = d === 0 ? 0 : expected.length / d;
  const ids = Int32Array.from({ length: rows }, (_, i) => i);
  checkWithin(what, actual, expected, toleranceOf(bound, rowMaxes(expected, rows, d), ids, d));
}

async function checkMask(layer: Embedding, input: IndexInput, expected: unknown): Promise<void> {
  const mask = layer.computeMask(input);
  if (expected === null) {
    check(mask === null, () => `expected mask null, received a mask of shape [${mask?.shape.join(', ')}].`);
    return;
  }
  check(mask !== null, 'expected a mask, received null.');
  checkFloats('mask', mask.data, flatten(expected));
  checkShape('mask', mask.shape, toIndexTensor(input, layer.config.inputDim).shape);
}

const lookup: Runner = async (fixture, context) => {
  await withLayer(context, fixture, async (layer) => {
    const bound = storageBound(layer.supports, context.tolerance);
    const input = inputOf(fixture);
    const out = await layer.predict(input);
    const expect = fixture.expect;
    const { outputDim: d, inputDim } = layer.config;
    const ids = toIndexTensor(input, inputDim).data;
    const table = expectedTable(fixture);
    checkShape('output', out.shape, expect.shape as number[]);
    check(out.data instanceof Float32Array, 'output data must be a Float32Array.');
    if (expect.output) checkRows('output', out.data, flatten(expect.output), ids, table, d, bound);
    if (expect.outputFnv1a && isExact(bound)) {
      check(fnv1a(out.data) === expect.outputFnv1a, () => `output FNV-1a: expected ${expect.outputFnv1a}, received ${fnv1a(out.data)}.`);
    }
    if (expect.outputHead) {
      const head = flatten(expect.outputHead);
      checkRows('output (first row)', out.data.subarray(0, head.length), head, ids, table, d, bound);
    }
    if (typeof expect.outputSum === 'number') {
      let sum = 0;
      for (const v of out.data) sum += v;
      // The storage may move each value by its row's bound: the sum by at most their total.
      const maxes = rowMaxes(table, inputDim, d);
      let slack = 0;
      for (let i = 0; i < out.data.length; i++) slack += bound.relative * maxes[ids[Math.floor(i / d)]!]! + bound.absolute;
      check(
        Math.abs(sum - expect.outputSum) <= 1e-6 * Math.max(1, Math.abs(expect.outputSum)) + slack,
        () => `output sum: expected ${expect.outputSum} (+- ${slack} from the storage bound), received ${sum}.`,
      );
    }
    const reference = referenceLookup(table, toIndexTensor(input, inputDim), d);
    checkRows('output vs float64 reference', out.data, reference, ids, table, d, bound);
    // The same lookup into a caller's buffer: the rows land in that buffer, which is returned.
    const into = new Float32Array(reference.length).fill(Number.NaN);
    const written = await layer.predict(input, { out: into });
    check(written.data === into, "predict(x, { out }) must return the caller's buffer as the output data.");
    checkShape('output (into a buffer)', written.shape, expect.shape as number[]);
    // Into a buffer or not, the backend must give the same bits.
    checkFloats('output written into a caller buffer (vs the fresh output)', into, out.data);
    // And into an array the backend placed (layer.allocateOutput; adapter-js: in its WebAssembly memory).
    const placed = layer.allocateOutput(toIndexTensor(input, inputDim).shape).fill(Number.NaN);
    const viaPlaced = await layer.predict(input, { out: placed });
    check(viaPlaced.data === placed, 'predict(x, { out: layer.allocateOutput(shape) }) must return that array as the output data.');
    checkFloats('output written into layer.allocateOutput(shape) (vs the fresh output)', placed, out.data);
    layer.releaseOutput(placed);
    if ('mask' in expect) await checkMask(layer, input, expect.mask);
  });
};

const mask: Runner = async (fixture, context) => {
  await withLayer(context, fixture, (layer) => checkMask(layer, inputOf(fixture), fixture.expect.mask));
};

const outputShape: Runner = async (fixture, context) => {
  await withLayer(context, fixture, async (layer) => {
    if (fixture.expect.error) {
      await expectError(() => layer.computeOutputShape(fixture.inputShape!), fixture.expect.error as string);
    } else {
      checkShape('computeOutputShape', layer.computeOutputShape(fixture.inputShape!), fixture.expect.shape as (number | null)[]);
    }
  });
};

/** Wraps a backend to count table creations, so a config error is shown to come before any allocation. */
function counting(backend: EmbeddingBackend): { backend: EmbeddingBackend; created: () => number } {
  let created = 0;
  const create = backend.doCreateTable as (...args: unknown[]) => unknown;
  return {
    backend: {
      ...backend,
      doCreateTable: (...args: unknown[]) => {
        created++;
        return create.apply(backend, args);
      },
    } as EmbeddingBackend,
    created: () => created,
  };
}

const configError: Runner = async (fixture, context) => {
  const { backend, created } = counting(await context.createBackend());
  await expectError(
    () =>
      fixture.kerasConfig !== undefined
        ? Embedding.fromConfig(decodeNumbers(fixture.kerasConfig), { backend })
        : Embedding.create(configOf(fixture), { backend }),
    fixture.expect.error as string,
  );
  check(created() === 0, 'the backend created a table although the config was invalid.');
};

const indexError: Runner = async (fixture, context) => {
  await withLayer(context, fixture, async (layer) => {
    const before = (await layer.getWeights())[0]!;
    const error = await expectError(
      () => layer.predict(decodeInput(fixture.input!, layer.config.inputDim)),
      fixture.expect.error as string,
    );
    if (fixture.expect.position) {
      const position = (error as InvalidIndexError).position;
      checkShape('error position', position ?? [], fixture.expect.position as number[]);
      check((error as InvalidIndexError).inputDim === layer.config.inputDim, 'the error must carry input_dim.');
    }
    // Nothing changed: same weights, and a valid lookup still answers exactly what the table holds.
    checkFloats('weights after the error', (await layer.getWeights())[0]!, before);
    const shape = layer.config.inputLength === null ? [2] : [1, ...[layer.config.inputLength].flat().map((l) => l ?? 1)];
    const valid = { data: new Int32Array(shape.reduce((a, b) => a * b, 1)).fill(layer.config.inputDim - 1), shape };
    const out = await layer.predict(valid);
    checkFloats(
      'lookup after the error',
      out.data,
      referenceLookup(before, toIndexTensor(valid, layer.config.inputDim), layer.config.outputDim),
    );
  });
};

function moments(values: Float32Array): { min: number; max: number; mean: number; std: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(sq / values.length) };
}

const initializer: Runner = async (fixture, context) => {
  const expect = fixture.expect as Record<string, any>;
  await withLayer(context, fixture, async (layer) => {
    const bound = storageBound(layer.supports, context.tolerance);
    const w = (await layer.getWeights())[0]!;
    const { inputDim: rows, outputDim: cols } = layer.config;
    // The storage moves each value by at most this much (the bound at the largest |value| of the table).
    let largest = 0;
    for (const v of w) if (Number.isFinite(v)) largest = Math.max(largest, Math.abs(v));
    const moved = bound.relative * largest + bound.absolute;
    if (expect.stats) {
      const s = expect.stats;
      const m = moments(w);
      if (s.min !== undefined)
        check(
          m.min >= Math.fround(s.min) - moved && m.max <= Math.fround(s.max) + moved,
          () => `values must lie in [${s.min}, ${s.max}] (+- ${moved} from the storage bound), found [${m.min}, ${m.max}].`,
        );
      check(
        Math.abs(m.mean - s.mean) <= s.meanTolerance + moved,
        () => `mean: expected ${s.mean} +- ${s.meanTolerance}, received ${m.mean}.`,
      );
      check(Math.abs(m.std - s.std) <= s.stdTolerance + moved, () => `std: expected ${s.std} +- ${s.stdTolerance}, received ${m.std}.`);
    }
    if (expect.weights) checkTable('weights', w, Float32Array.from(flatten(expect.weights)), cols, bound);
    if (expect.weightBits) {
      const bits = Array.from(w, float32Hex);
      check(
        canonicalJson(bits) === canonicalJson(expect.weightBits),
        () => `weight bits: expected ${expect.weightBits.slice(0, 4).join(' ')}..., received ${bits.slice(0, 4).join(' ')}...`,
      );
    }
    if (expect.orthogonal) {
      // Gram matrix of the shorter side: W^T W (tall) or W W^T (wide) must be gain^2 * I; a lossy
      // storage perturbs each value by at most its row's bound, each Gram entry by the sum below.
      const { gain, tolerance } = expect.orthogonal;
      const tall = rows >= cols;
      const k = Math.min(rows, cols);
      const n = Math.max(rows, cols);
      const at = (i: number, j: number) => (tall ? w[j * cols + i]! : w[i * cols + j]!);
      const maxes = rowMaxes(w, rows, cols);
      const delta = (i: number, j: number) => bound.relative * maxes[tall ? j : i]! + bound.absolute;
      let worst = 0;
      for (let a = 0; a < k; a++)
        for (let b = a; b < k; b++) {
          let dot = 0;
          let slack = 0;
          for (let j = 0; j < n; j++) {
            dot += at(a, j) * at(b, j);
            if (!isExact(bound)) slack += Math.abs(at(a, j)) * delta(b, j) + delta(a, j) * Math.abs(at(b, j)) + delta(a, j) * delta(b, j);
          }
          worst = Math.max(worst, Math.abs(dot - (a === b ? gain * gain : 0)) - slack);
        }
      check(worst <= tolerance * gain * gain, () => `orthogonality: max |Gram - gain^2 I| exceeds the bound by ${worst}.`);
    }
    if (expect.deterministic) {
      await withLayer(context, fixture, async (twin) => checkFloats('same seed, second layer', (await twin.getWeights())[0]!, w));
    }
    if (expect.differs) {
      const overrides = fixture.otherSeed !== undefined ? { seed: fixture.otherSeed } : {};
      await withLayer(
        context,
        fixture,
        async (other) => {
          const v = (await other.getWeights())[0]!;
          check(
            v.some((x, i) => !Object.is(x, w[i])),
            'two layers that should differ hold identical weights.',
          );
        },
        overrides,
      );
    }
  });
};

const roundTrip: Runner = async (fixture, context) => {
  const backend = await context.createBackend();
  if (fixture.kerasConfig !== undefined) {
    const layer = await Embedding.fromConfig(decodeNumbers(fixture.kerasConfig), { backend });
    try {
      const got = canonicalJson(layer.getConfig());
      const want = canonicalJson(fixture.expect.kerasConfig);
      check(got === want, () => `getConfig():\n expected ${want}\n received ${got}`);
    } finally {
      await layer.dispose();
    }
    return;
  }
  await withLayer(context, fixture, async (layer) => {
    // What Keras writes for the input config, resolved here without core's code.
    const want = canonicalJson(expectedKerasConfig(configOf(fixture) as InputConfig));
    const config = layer.getConfig();
    check(canonicalJson(config) === want, () => `getConfig() of the input config:\n expected ${want}\n received ${canonicalJson(config)}`);
    const again = await Embedding.fromConfig(JSON.parse(JSON.stringify(config)), { backend: await context.createBackend() });
    try {
      check(
        canonicalJson(again.getConfig()) === want,
        () => `fromConfig(getConfig()) changed the config:\n expected ${want}\n received ${canonicalJson(again.getConfig())}`,
      );
      if (fixture.expect.sameWeights)
        checkFloats('weights after the round trip', (await again.getWeights())[0]!, (await layer.getWeights())[0]!);
    } finally {
      await again.dispose();
    }
  });
};

const weights: Runner = async (fixture, context) => {
  const expect = fixture.expect as Record<string, any>;
  const initial = fixture.initialWeights ? (decodeNumbers(fixture.initialWeights) as WeightInput[]) : undefined;
  const backend = await context.createBackend();
  const layer = await Embedding.create(configOf(fixture), { backend, ...(initial ? { weights: initial } : {}) });
  try {
    const bound = storageBound(layer.supports, context.tolerance);
    const d = layer.config.outputDim;
    const before = (await layer.getWeights())[0]!;
    if (fixture.setWeights) {
      const attempt = () => layer.setWeights(decodeNumbers(fixture.setWeights) as WeightInput[]);
      if (expect.error) {
        await expectError(attempt, expect.error);
        checkFloats('weights after a failed setWeights', (await layer.getWeights())[0]!, before);
        const probe = { data: new Int32Array([0, layer.config.inputDim - 1]), shape: [2] };
        checkFloats(
          'lookup after a failed setWeights',
          (await layer.predict(probe)).data,
          referenceLookup(before, toIndexTensor(probe, layer.config.inputDim), d),
        );
      } else {
        await attempt();
      }
    }
    if (expect.weights) {
      const table = Float32Array.from(flatten(expect.weights));
      checkTable('getWeights', (await layer.getWeights())[0]!, table, d, bound);
      if (expect.output) {
        const input = decodeInput(fixture.input!, layer.config.inputDim);
        const ids = toIndexTensor(input, layer.config.inputDim).data;
        checkRows('lookup', (await layer.predict(input)).data, flatten(expect.output), ids, table, d, bound);
      }
    }
    if (expect.nonFinite !== undefined) {
      const report = await layer.validate();
      check(
        !report.ok && report.nan + report.infinite === expect.nonFinite,
        () => `validate(): expected ${expect.nonFinite} non-finite values, found ${report.nan + report.infinite}.`,
      );
    } else {
      check((await layer.validate()).ok, 'validate(): expected only finite weights.');
    }
    if (expect.copy) {
      const copy = (await layer.getWeights())[0]!;
      copy.fill(123);
      checkFloats('weights after mutating a copy', (await layer.getWeights())[0]!, before);
    }
  } finally {
    await layer.dispose();
  }
};

/** |a - b| <= tol * (1 + |b|) + slack(i), element-wise, with the worst offender in the failure. */
function checkClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  slack: (i: number) => number = () => 0,
): void {
  check(actual.length === expected.length, () => `${what}: expected ${expected.length} values, received ${actual.length}.`);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!) - tolerance * (1 + Math.abs(expected[i]!)) - slack(i);
    if (!(e <= 0) && (worst < 0 || e > excess)) {
      worst = i;
      excess = e;
    }
  }
  check(
    worst < 0,
    () =>
      `${what}: at ${worst} expected ${expected[worst]} (+-${tolerance} relative, +-${slack(worst)} from the storage), received ${actual[worst]}.`,
  );
}

/**
 * The storage's share of a training tolerance: the initial table is stored once and each step
 * stores the updated rows again, so a row may drift by (steps + 1) times its bound, at the
 * largest |value| the row has before or after training.
 */
function trainingSlack(bound: StorageBound, initial: Float32Array, final: Float32Array, d: number, steps: number): (i: number) => number {
  if (isExact(bound)) return () => 0;
  const rows = d === 0 ? 0 : initial.length / d;
  const a = rowMaxes(initial, rows, d);
  const b = rowMaxes(final, rows, d);
  return (i) => {
    const r = Math.floor(i / Math.max(1, d));
    return (steps + 1) * (bound.relative * Math.max(a[r]!, b[r]!) + bound.absolute);
  };
}

const training: Runner = async (fixture, context) => {
  await withLayer(context, fixture, async (layer) => {
    const initial = Float32Array.from(flatten(fixture.weights));
    const bound = storageBound(layer.supports, context.tolerance);
    const d = layer.config.outputDim;
    const stored = (await layer.getWeights())[0]!;
    if (fixture.compile) {
      layer.compile(fixture.compile as never);
      const batches = fixture.batches!;
      // A backend that applies this optimizer itself adds its declared error per step (supports.optimizers).
      const tolerance = trainingTolerance(layer.supports, fixture.compile.optimizer, batches.length, context.trainingTolerance ?? 1e-5);
      const first = batches[0]!;
      if (!layer.supports.training) {
        await expectError(() => layer.trainOnBatch(first.input as IndexInput, first.target), 'UNSUPPORTED_FEATURE');
        checkFloats('weights after a rejected step', (await layer.getWeights())[0]!, stored);
        return;
      }
      const losses: number[] = [];
      for (const b of batches) losses.push(await layer.trainOnBatch(b.input as IndexInput, b.target));
      const final = Float32Array.from(flatten(fixture.expect.weights));
      const slack = trainingSlack(bound, initial, final, d, batches.length);
      // A loss moves with the stored outputs; bound it by the slack of the largest row, relative to (1 + loss).
      let widest = 0;
      for (let i = 0; i < final.length; i++) widest = Math.max(widest, slack(i));
      checkClose(
        'losses',
        losses,
        fixture.expect.losses as number[],
        tolerance,
        (i) => 4 * widest * (1 + Math.abs((fixture.expect.losses as number[])[i]!)),
      );
      checkClose('weights after training', (await layer.getWeights())[0]!, final, tolerance, slack);
      return;
    }
    const input = inputOf(fixture);
    const gradient = Float32Array.from(fixture.outputGradient!);
    const step = () => layer.applyGradients(input, gradient, { learningRate: fixture.learningRate! });
    if (!layer.supports.training) {
      await expectError(step, 'UNSUPPORTED_FEATURE');
      checkFloats('weights after a rejected step', (await layer.getWeights())[0]!, stored);
      return;
    }
    await step();
    const final = Float32Array.from(flatten(fixture.expect.weights));
    const slack = trainingSlack(bound, initial, final, d, 1);
    checkWithin('weights after the step', (await layer.getWeights())[0]!, final, slack);
  });
};

const RUNNERS: Readonly<Record<string, Runner>> = {
  lookup,
  mask,
  outputShape,
  configError,
  indexError,
  initializer,
  roundTrip,
  weights,
  training,
};

/** Whether an optimizer identifier names Adam, RMSprop or Adagrad (steps normalized by the gradients' magnitudes). */
function adaptive(optimizer: unknown): boolean {
  const name =
    typeof optimizer === 'string'
      ? optimizer
      : ((optimizer as { className?: string; class_name?: string }).className ?? (optimizer as { class_name?: string }).class_name ?? '');
  return /^(adam|rmsprop|adagrad)$/i.test(name);
}

/** Why a fixture case cannot apply to a storage, or null. */
function fixtureSkip(group: string, fixture: FixtureCase): ((supports: BackendCapabilitiesV2) => string | null) | undefined {
  if (group === 'initializer' && fixture.expect.weightBits) {
    return (s) => (isExact(s.storage.bound) ? null : `compares float32 bit patterns; ${s.storage.dtype} storage is lossy`);
  }
  if (group === 'training' && fixture.compile && adaptive(fixture.compile.optimizer)) {
    // Adam, RMSprop and Adagrad divide by the root of the squared gradients: a gradient moved by
    // the storage's rounding can turn a step of ~0 into a full learning-rate step, so the
    // trajectory is not within any bound of the float64 reference. Their math is core's and is
    // checked on float32 storage; the plain-SGD cases check scatter-add and re-storage here.
    return (s) =>
      isExact(s.storage.bound)
        ? null
        : `an adaptive optimizer's trajectory is not bounded by the storage error; checked on float32 storage (${s.storage.dtype} is lossy)`;
  }
  if (group === 'weights' && fixture.expect.nonFinite !== undefined) {
    return (s) =>
      s.storage.nonFinite ? null : `stores NaN; ${s.storage.dtype} storage cannot hold NaN (supports.storage.nonFinite is false)`;
  }
  return undefined;
}

/**
 * Every conformance case, grouped: `lookup`, `mask`, `outputShape`, `configError`,
 * `indexError`, `initializer`, `roundTrip`, `weights`, `training`, `lifecycle`, `manifest`,
 * `rows`, `limits`, `export`, `pytorch`, `embedding-bag`, `keras3-lora`, `int4`.
 */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  ...FIXTURES.flatMap((file) =>
    file.cases.map((fixture): ConformanceCase => {
      const runner = RUNNERS[file.group]!;
      const skip = fixtureSkip(file.group, fixture);
      return {
        id: `${file.group}/${fixture.id}`,
        group: file.group,
        title: fixture.title,
        ...(file.group === 'training' ? { requires: 'training' as const } : {}),
        ...(skip ? { skip } : {}),
        run: (context) => runner(fixture, context),
      };
    }),
  ),
  ...EXTRA_CASES,
  ...PYTORCH_CASES,
  ...BAG_CASES,
  ...KERAS3_CASES,
];

/** The group names, in order. */
export const CONFORMANCE_GROUPS: readonly string[] = [...new Set(CONFORMANCE_CASES.map((c) => c.group))];
