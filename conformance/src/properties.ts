import { Embedding, type EmbeddingConfig } from '@embedding-layer/core';
import { toIndexTensor } from '@embedding-layer/core/backend';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectedKerasConfig, type InputConfig } from './expected-config.js';
import { canonicalJson } from './layer.js';
import { referenceLookup } from './reference.js';
import type { BackendFactory } from './types.js';

/** Options of {@link describeEmbeddingProperties}. */
export interface DescribePropertiesOptions {
  /** Shown in the test titles. */
  name: string;
  /** Makes a fresh backend. */
  createBackend: BackendFactory;
  /** Runs per property. Default 1000. */
  numRuns?: number;
  /**
   * fast-check seed. Default: the `EMBEDDING_LAYER_PROPERTY_SEED` environment variable, else a
   * fresh random seed. The seed is in the describe title, so every report (and fast-check's
   * failure message) says how to replay the run.
   */
  seed?: number;
}

/** Environment variable that fixes the property tests' seed: `EMBEDDING_LAYER_PROPERTY_SEED=42 npx vitest run ...` replays a run. */
export const PROPERTY_SEED_ENV = 'EMBEDDING_LAYER_PROPERTY_SEED';

/** The seed a property run uses: `option`, else {@link PROPERTY_SEED_ENV}, else fresh (a 31-bit random integer). */
export function propertySeed(option?: number): number {
  if (option !== undefined) return option;
  const fromEnv = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[PROPERTY_SEED_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 31)
      throw new Error(`${PROPERTY_SEED_ENV} must be a 32-bit integer, received ${JSON.stringify(fromEnv.slice(0, 40))}.`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

const shapeAndIndices = (inputDim: number) =>
  fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }).chain((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return fc.record({
      shape: fc.constant(shape),
      data: fc.array(fc.integer({ min: 0, max: inputDim - 1 }), { minLength: size, maxLength: size }),
      dtype: fc.constantFrom('int32', 'float64', 'nested'),
    });
  });

const lookupCase = fc
  .record({ inputDim: fc.integer({ min: 1, max: 40 }), outputDim: fc.integer({ min: 0, max: 6 }), maskZero: fc.boolean() })
  .chain((c) =>
    fc.record({
      config: fc.constant(c),
      weights: fc.float32Array({ minLength: c.inputDim * c.outputDim, maxLength: c.inputDim * c.outputDim, noNaN: true }),
      input: shapeAndIndices(c.inputDim),
    }),
  );

/** Index of the first element whose float32 bits differ, or -1. */
function firstDifferentBits(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function nest(data: number[], shape: number[]): unknown {
  if (shape.length === 1) return data;
  const step = data.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nest(data.slice(i * step, (i + 1) * step), shape.slice(1)));
}

const configCase = fc.record({
  inputDim: fc.integer({ min: 1, max: 30 }),
  outputDim: fc.integer({ min: 1, max: 5 }),
  embeddingsInitializer: fc.constantFrom(
    'uniform',
    'normal',
    'truncated_normal',
    'glorot_uniform',
    'he_normal',
    'lecun_uniform',
    'zeros',
    'ones',
    'orthogonal',
    'identity',
    {
      className: 'VarianceScaling',
      config: { scale: 2, mode: 'fan_avg', distribution: 'uniform' },
    },
  ),
  embeddingsRegularizer: fc.constantFrom(null, 'l1', 'l2', 'l1_l2', { className: 'L1L2', config: { l1: 0.5, l2: 0.25 } }),
  activityRegularizer: fc.constantFrom(null, 'l2'),
  embeddingsConstraint: fc.constantFrom(
    null,
    'non_neg',
    'unit_norm',
    { className: 'MaxNorm', config: { max_value: 3, axis: 1 } },
    'min_max_norm',
  ),
  maskZero: fc.boolean(),
  inputLength: fc.constantFrom(null, 4, [null, 2], [3, 1]),
  trainable: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 40 }),
  name: fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/),
});

/**
 * Property tests (fast-check) for a backend: for random configs, weights and indices the
 * backend returns exactly what the float64 reference returns (bitwise), masks equal
 * `index != 0`, `getConfig()` equals the Keras config of the input as computed independently
 * of core, and getConfig/fromConfig round-trips to an identical layer (config and weights).
 * fast-check prints the seed and the counterexample on failure.
 */
export function describeEmbeddingProperties(options: DescribePropertiesOptions): void {
  const numRuns = options.numRuns ?? 1000;
  const seed = propertySeed(options.seed);
  const params = { numRuns, seed };
  describe(`${options.name} properties (${numRuns} runs each, seed ${seed}; ${PROPERTY_SEED_ENV}=${seed} replays it)`, () => {
    it('lookups equal the float64 reference bit for bit, and masks equal index != 0', async () => {
      await fc.assert(
        fc.asyncProperty(lookupCase, async ({ config, weights, input }) => {
          const layer = await Embedding.create(config as EmbeddingConfig, { backend: await options.createBackend(), weights: [weights] });
          try {
            const given =
              input.dtype === 'nested'
                ? (nest(input.data, input.shape) as number[])
                : { data: input.dtype === 'int32' ? Int32Array.from(input.data) : Float64Array.from(input.data), shape: input.shape };
            const out = await layer.predict(given);
            // Nested arrays cannot spell every shape ([0, 0] nests as []): take the shape the input actually has.
            const shape = toIndexTensor(given, config.inputDim).shape;
            const indices = { data: Int32Array.from(input.data), shape };
            const want = referenceLookup(weights, indices, config.outputDim);
            if (out.shape.join() !== [...shape, config.outputDim].join()) throw new Error(`shape ${out.shape} for input ${shape}`);
            const at = firstDifferentBits(out.data, want);
            if (at >= 0) throw new Error(`output bits differ at ${at}: ${out.data[at]} vs ${want[at]}`);
            const mask = layer.computeMask(given);
            if (!config.maskZero) {
              if (mask !== null) throw new Error('mask must be null without maskZero');
            } else {
              if (!mask || mask.shape.join() !== shape.join()) throw new Error('mask shape');
              for (let i = 0; i < input.data.length; i++)
                if (mask.data[i] !== (input.data[i] !== 0 ? 1 : 0)) throw new Error(`mask differs at ${i}`);
            }
          } finally {
            await layer.dispose();
          }
        }),
        params,
      );
    });

    it('getConfig() is the Keras config of the input (resolved independently), and fromConfig round-trips to an identical layer', async () => {
      await fc.assert(
        fc.asyncProperty(configCase, async (config) => {
          const a = await Embedding.create(config as EmbeddingConfig, { backend: await options.createBackend() });
          const b = await Embedding.fromConfig(JSON.parse(JSON.stringify(a.getConfig())), { backend: await options.createBackend() });
          try {
            const want = canonicalJson(expectedKerasConfig(config as InputConfig));
            if (canonicalJson(a.getConfig()) !== want) throw new Error(`getConfig() ${canonicalJson(a.getConfig())}, expected ${want}`);
            if (canonicalJson(b.getConfig()) !== want) throw new Error(`config changed by the round trip: ${canonicalJson(b.getConfig())}`);
            const wa = (await a.getWeights())[0]!;
            const wb = (await b.getWeights())[0]!;
            if (firstDifferentBits(wa, wb) >= 0) throw new Error('weights changed');
          } finally {
            await a.dispose();
            await b.dispose();
          }
        }),
        params,
      );
    });
  });
}
