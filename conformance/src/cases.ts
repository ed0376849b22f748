import {
  Embedding,
  type EmbeddingBackendV1,
  type EmbeddingConfig,
  type IndexInput,
  type InvalidIndexError,
  initializeEmbeddings,
  resolveConfig,
  toIndexTensor,
  type WeightInput,
} from '@embedding-layer/core';
import { decodeInput, decodeNumbers, flatten } from './decode.js';
import { check, checkFloats, checkShape } from './failure.js';
import { FIXTURES } from './fixtures.js';
import { canonicalJson, expectError, withLayer } from './layer.js';
import { float32Hex, fnv1a, referenceLookup } from './reference.js';
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
    const input = inputOf(fixture);
    const out = await layer.predict(input);
    const expect = fixture.expect;
    checkShape('output', out.shape, expect.shape as number[]);
    check(out.data instanceof Float32Array, 'output data must be a Float32Array.');
    if (expect.output) checkFloats('output', out.data, flatten(expect.output), context.tolerance);
    if (expect.outputFnv1a && context.tolerance === 0) {
      check(fnv1a(out.data) === expect.outputFnv1a, () => `output FNV-1a: expected ${expect.outputFnv1a}, received ${fnv1a(out.data)}.`);
    }
    if (expect.outputHead)
      checkFloats(
        'output (first row)',
        out.data.subarray(0, (expect.outputHead as number[]).length),
        flatten(expect.outputHead),
        context.tolerance,
      );
    if (typeof expect.outputSum === 'number') {
      let sum = 0;
      for (const v of out.data) sum += v;
      check(
        Math.abs(sum - expect.outputSum) <= 1e-6 * Math.max(1, Math.abs(expect.outputSum)),
        () => `output sum: expected ${expect.outputSum}, received ${sum}.`,
      );
    }
    const { outputDim, inputDim } = layer.config;
    const reference = referenceLookup(expectedTable(fixture), toIndexTensor(input, inputDim), outputDim);
    checkFloats('output vs float64 reference', out.data, reference, context.tolerance);
    // The same lookup into a caller's buffer: the rows land in that buffer, which is returned.
    const into = new Float32Array(reference.length).fill(Number.NaN);
    const written = await layer.predict(input, { out: into });
    check(written.data === into, "predict(x, { out }) must return the caller's buffer as the output data.");
    checkShape('output (into a buffer)', written.shape, expect.shape as number[]);
    checkFloats('output written into a caller buffer', into, reference, context.tolerance);
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
function counting(backend: EmbeddingBackendV1): { backend: EmbeddingBackendV1; created: () => number } {
  let created = 0;
  return {
    backend: {
      ...backend,
      doCreateTable: (config, weights) => {
        created++;
        return backend.doCreateTable(config, weights);
      },
    },
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
    const before = layer.getWeights()[0]!;
    const error = await expectError(
      () => layer.predict(decodeInput(fixture.input!, layer.config.inputDim)),
      fixture.expect.error as string,
    );
    if (fixture.expect.position) {
      const position = (error as InvalidIndexError).position;
      checkShape('error position', position ?? [], fixture.expect.position as number[]);
      check((error as InvalidIndexError).inputDim === layer.config.inputDim, 'the error must carry input_dim.');
    }
    // Nothing changed: same weights, and a valid lookup still answers exactly.
    checkFloats('weights after the error', layer.getWeights()[0]!, before);
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
    const w = layer.getWeights()[0]!;
    const { inputDim: rows, outputDim: cols } = layer.config;
    if (expect.stats) {
      const s = expect.stats;
      const m = moments(w);
      if (s.min !== undefined)
        check(
          m.min >= Math.fround(s.min) && m.max <= Math.fround(s.max),
          () => `values must lie in [${s.min}, ${s.max}], found [${m.min}, ${m.max}].`,
        );
      check(Math.abs(m.mean - s.mean) <= s.meanTolerance, () => `mean: expected ${s.mean} +- ${s.meanTolerance}, received ${m.mean}.`);
      check(Math.abs(m.std - s.std) <= s.stdTolerance, () => `std: expected ${s.std} +- ${s.stdTolerance}, received ${m.std}.`);
    }
    if (expect.weights) checkFloats('weights', w, flatten(expect.weights));
    if (expect.weightBits) {
      const bits = Array.from(w, float32Hex);
      check(
        canonicalJson(bits) === canonicalJson(expect.weightBits),
        () => `weight bits: expected ${expect.weightBits.slice(0, 4).join(' ')}..., received ${bits.slice(0, 4).join(' ')}...`,
      );
    }
    if (expect.orthogonal) {
      // Gram matrix of the shorter side: W^T W (tall) or W W^T (wide) must be gain^2 * I.
      const { gain, tolerance } = expect.orthogonal;
      const tall = rows >= cols;
      const k = Math.min(rows, cols);
      const n = Math.max(rows, cols);
      const at = (i: number, j: number) => (tall ? w[j * cols + i]! : w[i * cols + j]!);
      let worst = 0;
      for (let a = 0; a < k; a++)
        for (let b = a; b < k; b++) {
          let dot = 0;
          for (let j = 0; j < n; j++) dot += at(a, j) * at(b, j);
          worst = Math.max(worst, Math.abs(dot - (a === b ? gain * gain : 0)));
        }
      check(worst <= tolerance * gain * gain, () => `orthogonality: max |Gram - gain^2 I| = ${worst}.`);
    }
    if (expect.deterministic) {
      await withLayer(context, fixture, async (twin) => checkFloats('same seed, second layer', twin.getWeights()[0]!, w));
    }
    if (expect.differs) {
      const overrides = fixture.otherSeed !== undefined ? { seed: fixture.otherSeed } : {};
      await withLayer(
        context,
        fixture,
        async (other) => {
          const v = other.getWeights()[0]!;
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
    const config = layer.getConfig();
    const again = await Embedding.fromConfig(JSON.parse(JSON.stringify(config)), { backend: await context.createBackend() });
    try {
      check(
        canonicalJson(again.getConfig()) === canonicalJson(config),
        () => `fromConfig(getConfig()) changed the config: ${canonicalJson(again.getConfig())}`,
      );
      if (fixture.expect.sameWeights) checkFloats('weights after the round trip', again.getWeights()[0]!, layer.getWeights()[0]!);
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
    const before = layer.getWeights()[0]!;
    if (fixture.setWeights) {
      const attempt = () => layer.setWeights(decodeNumbers(fixture.setWeights) as WeightInput[]);
      if (expect.error) {
        await expectError(attempt, expect.error);
        checkFloats('weights after a failed setWeights', layer.getWeights()[0]!, before);
        const probe = { data: new Int32Array([0, layer.config.inputDim - 1]), shape: [2] };
        checkFloats(
          'lookup after a failed setWeights',
          (await layer.predict(probe)).data,
          referenceLookup(before, toIndexTensor(probe, layer.config.inputDim), layer.config.outputDim),
        );
      } else {
        attempt();
      }
    }
    if (expect.weights) checkFloats('getWeights', layer.getWeights()[0]!, flatten(expect.weights));
    if (expect.output)
      checkFloats('lookup', (await layer.predict(decodeInput(fixture.input!, layer.config.inputDim))).data, flatten(expect.output));
    if (expect.nonFinite !== undefined) {
      const report = layer.validate();
      check(
        !report.ok && report.nan + report.infinite === expect.nonFinite,
        () => `validate(): expected ${expect.nonFinite} non-finite values, found ${report.nan + report.infinite}.`,
      );
    } else {
      check(layer.validate().ok, 'validate(): expected only finite weights.');
    }
    if (expect.copy) {
      const copy = layer.getWeights()[0]!;
      copy.fill(123);
      checkFloats('weights after mutating a copy', layer.getWeights()[0]!, before);
    }
  } finally {
    await layer.dispose();
  }
};

/** |a - b| <= tol * (1 + |b|), element-wise, with the worst offender in the failure. */
function checkClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  check(actual.length === expected.length, () => `${what}: expected ${expected.length} values, received ${actual.length}.`);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!) - tolerance * (1 + Math.abs(expected[i]!));
    if (!(e <= 0) && (worst < 0 || e > excess)) {
      worst = i;
      excess = e;
    }
  }
  check(worst < 0, () => `${what}: at ${worst} expected ${expected[worst]} (+-${tolerance} relative), received ${actual[worst]}.`);
}

const training: Runner = async (fixture, context) => {
  await withLayer(context, fixture, async (layer, backend) => {
    const initial = Float32Array.from(flatten(fixture.weights));
    const tolerance = context.trainingTolerance ?? 1e-5;
    if (fixture.compile) {
      layer.compile(fixture.compile as never);
      const batches = fixture.batches!;
      const first = batches[0]!;
      if (!backend.supports.training) {
        await expectError(() => layer.trainOnBatch(first.input as IndexInput, first.target), 'UNSUPPORTED_FEATURE');
        checkFloats('weights after a rejected step', layer.getWeights()[0]!, initial);
        return;
      }
      const losses: number[] = [];
      for (const b of batches) losses.push(await layer.trainOnBatch(b.input as IndexInput, b.target));
      checkClose('losses', losses, fixture.expect.losses as number[], tolerance);
      checkClose('weights after training', layer.getWeights()[0]!, flatten(fixture.expect.weights), tolerance);
      return;
    }
    const input = inputOf(fixture);
    const gradient = Float32Array.from(fixture.outputGradient!);
    const step = () => layer.applyGradients(input, gradient, { learningRate: fixture.learningRate! });
    if (!backend.supports.training) {
      await expectError(step, 'UNSUPPORTED_FEATURE');
      checkFloats('weights after a rejected step', layer.getWeights()[0]!, initial);
      return;
    }
    await step();
    checkFloats('weights after the step', layer.getWeights()[0]!, flatten(fixture.expect.weights), context.tolerance);
  });
};

/** Not fixture-driven: a caller's buffer of the wrong size. */
const wrongOut: ConformanceCase = {
  id: 'lookup/out-wrong-length',
  group: 'lookup',
  title: 'predict(x, { out }) with a buffer of the wrong length is a SHAPE_MISMATCH and writes nothing',
  async run(context) {
    const layer = await Embedding.create({ inputDim: 4, outputDim: 2, seed: 1 }, { backend: await context.createBackend() });
    try {
      const out = new Float32Array(5).fill(7);
      await expectError(() => layer.predict([0, 1, 3], { out }), 'SHAPE_MISMATCH');
      checkFloats('the rejected buffer', out, new Float32Array(5).fill(7));
      await expectError(() => layer.predict([0], { out: new Float64Array(2) as unknown as Float32Array }), 'SHAPE_MISMATCH');
    } finally {
      await layer.dispose();
    }
  },
};

/** Not fixture-driven: behaviour after dispose(). */
const lifecycle: ConformanceCase = {
  id: 'lifecycle/dispose',
  group: 'lifecycle',
  title: 'After dispose(), predict and getWeights throw LAYER_DISPOSED; a second dispose is a no-op',
  async run(context) {
    const layer = await Embedding.create({ inputDim: 4, outputDim: 2, seed: 1 }, { backend: await context.createBackend() });
    await layer.dispose();
    await expectError(() => layer.predict([0]), 'LAYER_DISPOSED');
    await expectError(() => layer.getWeights(), 'LAYER_DISPOSED');
    await expectError(() => layer.setWeights([new Float32Array(8)]), 'LAYER_DISPOSED');
    await layer.dispose();
  },
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

/** Every conformance case, grouped: `lookup`, `mask`, `outputShape`, `configError`, `indexError`, `initializer`, `roundTrip`, `weights`, `training`, `lifecycle`. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  ...FIXTURES.flatMap((file) =>
    file.cases.map((fixture): ConformanceCase => {
      const runner = RUNNERS[file.group]!;
      return {
        id: `${file.group}/${fixture.id}`,
        group: file.group,
        title: fixture.title,
        ...(file.group === 'training' ? { requires: 'training' as const } : {}),
        run: (context) => runner(fixture, context),
      };
    }),
  ),
  wrongOut,
  lifecycle,
];

/** The group names, in order. */
export const CONFORMANCE_GROUPS: readonly string[] = [...new Set(CONFORMANCE_CASES.map((c) => c.group))];
