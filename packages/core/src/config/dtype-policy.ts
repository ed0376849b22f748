import type { Keras3ObjectJson } from './keras-config.js';

/**
 * A layer `dtype` as Keras 2, Keras 3 and TF.js spell it, reduced to a policy name: a string
 * as is (`'float32'`, `'mixed_float16'`); a Keras 3 `DTypePolicy` object's `config.name`; a
 * Keras 3.14+ quantized policy object (`{ mode: 'int4/-1', source_name: 'float32' }`, no name)
 * as `<mode>_from_<source_name>`, the name Keras 3 gives it. Anything else is returned as is.
 */
export function dtypePolicyName(dtype: unknown): unknown {
  if (typeof dtype === 'object' && dtype !== null) {
    const config = (dtype as { config?: { name?: unknown; mode?: unknown; source_name?: unknown } }).config;
    if (config?.name === undefined && typeof config?.mode === 'string') return `${config.mode}_from_${config.source_name ?? 'float32'}`;
    return config?.name;
  }
  return dtype;
}

/** The Keras 3 `DTypePolicy` object for a dtype name (`{ module: 'keras', class_name: 'DTypePolicy', config: { name } }`). */
export function keras3DtypePolicy(name: string): Keras3ObjectJson {
  return { module: 'keras', class_name: 'DTypePolicy', config: { name }, registered_name: null };
}

/**
 * Keras 3's quantized dtype policy names (`int8_from_float32`, `int4/128_from_float32`,
 * `int4/-1_from_float32`, `float8_from_bfloat16`): group 1 is the mode, group 2 the source dtype.
 */
export const QUANTIZED_POLICY: RegExp = /^(int8|int4|float8)(?:\/(?:-?\d+|None))?_from_(\w+)$/;

/** Mixed-precision and other float policy names whose variables are read into a float32 matrix here. */
export const FLOAT_POLICIES: ReadonlySet<string> = new Set([
  'mixed_float16',
  'mixed_bfloat16',
  'float16',
  'bfloat16',
  'float64',
  'half',
  'double',
]);
