import { buildRegistry, type KerasClassSpec } from '../serialization/keras-object.js';

const factor = { kind: 'nonNegative' } as const;

/**
 * Regularizers accepted for `embeddings_regularizer` and `activity_regularizer`, with Keras's
 * defaults: L1(l1=0.01), L2(l2=0.01), L1L2(l1=0, l2=0); the bare string `'l1_l2'` (tf-keras's
 * helper, TF.js's `'l1l2'`) means L1L2(0.01, 0.01).
 */
export const REGULARIZERS: readonly KerasClassSpec[] = [
  { className: 'L1', aliases: ['l1'], defaults: { l1: 0.01 }, rules: { l1: factor } },
  { className: 'L2', aliases: ['l2'], defaults: { l2: 0.01 }, rules: { l2: factor } },
  {
    className: 'L1L2',
    aliases: ['l1_l2', 'l1l2'],
    defaults: { l1: 0.0, l2: 0.0 },
    stringDefaults: { l1: 0.01, l2: 0.01 },
    rules: { l1: factor, l2: factor },
  },
];

/** Alias lookup for {@link REGULARIZERS}. */
export const REGULARIZER_REGISTRY = buildRegistry(REGULARIZERS);
