// The Keras config a layer must report, computed from the input config here, independently of
// core (own tables of Keras 2's class names and defaults), so that a round trip is compared
// with what Keras would write, not with `getConfig()` of the same code.

/** Keras 2 class names and default configs, by the names the suite uses. */
const INITIALIZERS: Readonly<Record<string, readonly [string, Record<string, unknown>]>> = {
  uniform: ['RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }],
  normal: ['RandomNormal', { mean: 0, stddev: 0.05, seed: null }],
  truncated_normal: ['TruncatedNormal', { mean: 0, stddev: 0.05, seed: null }],
  zeros: ['Zeros', {}],
  ones: ['Ones', {}],
  constant: ['Constant', { value: 0 }],
  glorot_uniform: ['GlorotUniform', { seed: null }],
  glorot_normal: ['GlorotNormal', { seed: null }],
  he_uniform: ['HeUniform', { seed: null }],
  he_normal: ['HeNormal', { seed: null }],
  lecun_uniform: ['LecunUniform', { seed: null }],
  lecun_normal: ['LecunNormal', { seed: null }],
  orthogonal: ['Orthogonal', { gain: 1, seed: null }],
  identity: ['Identity', { gain: 1 }],
  variance_scaling: ['VarianceScaling', { scale: 1, mode: 'fan_in', distribution: 'truncated_normal', seed: null }],
};

/** Regularizers: the bare string 'l1_l2' is tf-keras's helper, L1L2(0.01, 0.01); the class defaults to (0, 0). */
const REGULARIZERS: Readonly<Record<string, readonly [string, Record<string, unknown>]>> = {
  l1: ['L1', { l1: 0.01 }],
  l2: ['L2', { l2: 0.01 }],
  l1_l2: ['L1L2', { l1: 0.01, l2: 0.01 }],
  L1L2: ['L1L2', { l1: 0, l2: 0 }],
};

const CONSTRAINTS: Readonly<Record<string, readonly [string, Record<string, unknown>]>> = {
  max_norm: ['MaxNorm', { max_value: 2, axis: 0 }],
  non_neg: ['NonNeg', {}],
  unit_norm: ['UnitNorm', { axis: 0 }],
  min_max_norm: ['MinMaxNorm', { min_value: 0, max_value: 1, rate: 1, axis: 0 }],
};

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function lookup(
  table: Readonly<Record<string, readonly [string, Record<string, unknown>]>>,
  identifier: unknown,
): { class_name: string; config: Record<string, unknown> } | null {
  if (identifier === null || identifier === undefined) return null;
  if (typeof identifier === 'string') {
    const hit = table[identifier] ?? table[snake(identifier)];
    if (!hit) throw new Error(`expected-config: no entry for ${JSON.stringify(identifier)}`);
    return { class_name: hit[0], config: { ...hit[1] } };
  }
  const { className, class_name, config } = identifier as { className?: string; class_name?: string; config?: Record<string, unknown> };
  const name = className ?? class_name!;
  const hit = Object.values(table).find(([c]) => c === name) ?? table[name];
  if (!hit) throw new Error(`expected-config: no entry for class ${JSON.stringify(name)}`);
  // A class named by its class name takes the class defaults (L1L2 is (0, 0), unlike 'l1_l2').
  const defaults = name === 'L1L2' ? { l1: 0, l2: 0 } : hit[1];
  return { class_name: hit[0], config: { ...defaults, ...(config ?? {}) } };
}

/** The input config of a case, camelCase, as `Embedding.create` takes it. */
export interface InputConfig {
  inputDim: number;
  outputDim: number;
  embeddingsInitializer?: unknown;
  embeddingsRegularizer?: unknown;
  activityRegularizer?: unknown;
  embeddingsConstraint?: unknown;
  maskZero?: boolean;
  inputLength?: number | readonly (number | null)[] | null;
  name?: string;
  trainable?: boolean;
  seed?: number | null;
}

/**
 * The Keras 2 `get_config()` of a layer made from `config` (the name left out when the input
 * has none: Keras numbers default names). Written from Keras's documentation: defaults
 * `embeddings_initializer='uniform'`, `mask_zero=False`, `input_length=None`,
 * `trainable=True`, `dtype='float32'`; `batch_input_shape` is `[None, *input_length]`; a
 * layer seed becomes the initializer's seed when the initializer takes one and has none.
 */
export function expectedKerasConfig(config: InputConfig): Record<string, unknown> {
  const initializer = lookup(INITIALIZERS, config.embeddingsInitializer ?? 'uniform')!;
  if (config.seed !== undefined && config.seed !== null && 'seed' in initializer.config && initializer.config.seed === null) {
    initializer.config.seed = config.seed;
  }
  const inputLength = config.inputLength ?? null;
  const lengths = inputLength === null ? [null] : typeof inputLength === 'number' ? [inputLength] : [...inputLength];
  return {
    ...(config.name !== undefined ? { name: config.name } : {}),
    trainable: config.trainable ?? true,
    dtype: 'float32',
    batch_input_shape: [null, ...lengths],
    input_dim: config.inputDim,
    output_dim: config.outputDim,
    embeddings_initializer: initializer,
    embeddings_regularizer: lookup(REGULARIZERS, config.embeddingsRegularizer),
    activity_regularizer: lookup(REGULARIZERS, config.activityRegularizer),
    embeddings_constraint: lookup(CONSTRAINTS, config.embeddingsConstraint),
    mask_zero: config.maskZero ?? false,
    input_length: inputLength === null ? null : typeof inputLength === 'number' ? inputLength : [...inputLength],
  };
}
