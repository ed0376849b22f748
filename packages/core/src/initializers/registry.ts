import { buildRegistry, type KerasClassSpec, type ParamRule } from '../serialization/keras-object.js';

const seed: ParamRule = { kind: 'seed' };
const seeded = { defaults: { seed: null }, rules: { seed } };
const MODES = ['fan_in', 'fan_out', 'fan_avg'] as const;
const DISTRIBUTIONS = ['truncated_normal', 'untruncated_normal', 'uniform'] as const;

/**
 * Every initializer Keras 2 accepts by name for `embeddings_initializer`, with Keras 2's
 * defaults. Aliases cover Keras 2/3 snake_case names, the short names (`uniform`, `normal`,
 * `zero`, `one`), tf-keras's `*V2` class names and TF.js's camelCase identifiers.
 */
export const INITIALIZERS: readonly KerasClassSpec[] = [
  {
    className: 'RandomUniform',
    aliases: ['uniform', 'random_uniform', 'RandomUniformV2', 'randomUniform'],
    defaults: { minval: -0.05, maxval: 0.05, seed: null },
    rules: { minval: { kind: 'number' }, maxval: { kind: 'number' }, seed },
  },
  {
    className: 'RandomNormal',
    aliases: ['normal', 'random_normal', 'RandomNormalV2', 'randomNormal'],
    defaults: { mean: 0.0, stddev: 0.05, seed: null },
    rules: { mean: { kind: 'number' }, stddev: { kind: 'nonNegative' }, seed },
  },
  {
    className: 'TruncatedNormal',
    aliases: ['truncated_normal', 'TruncatedNormalV2', 'truncatedNormal'],
    defaults: { mean: 0.0, stddev: 0.05, seed: null },
    rules: { mean: { kind: 'number' }, stddev: { kind: 'nonNegative' }, seed },
  },
  { className: 'Zeros', aliases: ['zeros', 'zero', 'ZerosV2'], defaults: {}, rules: {} },
  { className: 'Ones', aliases: ['ones', 'one', 'OnesV2'], defaults: {}, rules: {} },
  {
    className: 'Constant',
    aliases: ['constant', 'ConstantV2'],
    defaults: { value: 0.0 },
    rules: { value: { kind: 'number' } },
  },
  {
    className: 'VarianceScaling',
    aliases: ['variance_scaling', 'VarianceScalingV2', 'varianceScaling'],
    defaults: { scale: 1.0, mode: 'fan_in', distribution: 'truncated_normal', seed: null },
    rules: {
      scale: { kind: 'positive' },
      mode: { kind: 'enum', values: MODES, aliases: { fanIn: 'fan_in', fanOut: 'fan_out', fanAvg: 'fan_avg' } },
      distribution: {
        kind: 'enum',
        values: DISTRIBUTIONS,
        // Keras maps the legacy 'normal' to 'truncated_normal'.
        aliases: { normal: 'truncated_normal', truncatedNormal: 'truncated_normal', untruncatedNormal: 'untruncated_normal' },
      },
      seed,
    },
  },
  { className: 'GlorotUniform', aliases: ['glorot_uniform', 'GlorotUniformV2', 'glorotUniform'], ...seeded },
  { className: 'GlorotNormal', aliases: ['glorot_normal', 'GlorotNormalV2', 'glorotNormal'], ...seeded },
  { className: 'HeUniform', aliases: ['he_uniform', 'HeUniformV2', 'heUniform'], ...seeded },
  { className: 'HeNormal', aliases: ['he_normal', 'HeNormalV2', 'heNormal'], ...seeded },
  { className: 'LecunUniform', aliases: ['lecun_uniform', 'LecunUniformV2', 'leCunUniform', 'LeCunUniform'], ...seeded },
  { className: 'LecunNormal', aliases: ['lecun_normal', 'LecunNormalV2', 'leCunNormal', 'LeCunNormal'], ...seeded },
  {
    className: 'Orthogonal',
    aliases: ['orthogonal', 'OrthogonalV2', 'OrthogonalInitializer'],
    defaults: { gain: 1.0, seed: null },
    rules: { gain: { kind: 'number' }, seed },
  },
  {
    className: 'Identity',
    aliases: ['identity', 'IdentityV2'],
    defaults: { gain: 1.0 },
    rules: { gain: { kind: 'number' } },
  },
];

/** Alias lookup for {@link INITIALIZERS}. */
export const INITIALIZER_REGISTRY = buildRegistry(INITIALIZERS);
