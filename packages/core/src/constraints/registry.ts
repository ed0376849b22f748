import { buildRegistry, type KerasClassSpec } from '../serialization/keras-object.js';

const axis = { kind: 'axis' } as const;

/**
 * Constraints accepted for `embeddings_constraint`, with Keras's defaults. Note Keras's default
 * `axis=0` constrains each of the output_dim columns (over the vocabulary); per-embedding-vector
 * norms need `axis: 1`.
 */
export const CONSTRAINTS: readonly KerasClassSpec[] = [
  {
    className: 'MaxNorm',
    aliases: ['max_norm', 'maxnorm', 'maxNorm'],
    defaults: { max_value: 2, axis: 0 },
    rules: { max_value: { kind: 'nonNegative' }, axis },
  },
  { className: 'NonNeg', aliases: ['non_neg', 'nonneg', 'nonNeg'], defaults: {}, rules: {} },
  { className: 'UnitNorm', aliases: ['unit_norm', 'unitnorm', 'unitNorm'], defaults: { axis: 0 }, rules: { axis } },
  {
    className: 'MinMaxNorm',
    aliases: ['min_max_norm', 'minmaxnorm', 'minMaxNorm'],
    defaults: { min_value: 0.0, max_value: 1.0, rate: 1.0, axis: 0 },
    rules: { min_value: { kind: 'nonNegative' }, max_value: { kind: 'nonNegative' }, rate: { kind: 'nonNegative' }, axis },
  },
];

/** Alias lookup for {@link CONSTRAINTS}. */
export const CONSTRAINT_REGISTRY = buildRegistry(CONSTRAINTS);
