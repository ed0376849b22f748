import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { dtypePolicyName, FLOAT_POLICIES, keras3DtypePolicy, QUANTIZED_POLICY } from './dtype-policy.js';
import type { ResolvedEmbeddingConfig } from './embedding-config.js';
import {
  type Keras3ObjectJson,
  type KerasEmbeddingLayerConfig,
  type KerasObjectJson,
  PYTORCH_CONFIG_KEYS,
  toKerasConfig,
} from './keras-config.js';
import { toTfjsObjectJson } from './tfjs-class-names.js';

// The Keras dialects of the Embedding layer config, read and write: Keras 1 (read only), Keras 2,
// Keras 3 and TF.js model.json. Core's fromKerasConfig/toKerasConfig are the camelCase <->
// snake_case step; this module owns how each ecosystem spells keys, objects and dtype policies.

/** A config dialect: how one ecosystem spells the Embedding layer config. */
export type ConfigDialect = 'keras2' | 'keras3' | 'tfjs';

/** The result of {@link normalizeKerasLayerConfig}: a Keras 2 spelled config and what was normalized. */
export interface NormalizedLayerConfig {
  /** The layer config with Keras 2's keys and values core accepts (snake_case, for `fromKerasConfig`). */
  readonly config: Record<string, unknown>;
  /** One sentence per legacy key or value that had to be mapped. */
  readonly notes: readonly string[];
}

/**
 * Keras 1 argument names of `Embedding` and the Keras 2 names they became, as Keras 2's own
 * legacy converter renames them (`legacy_embedding_support` in keras/legacy/interfaces.py;
 * `input_dtype` is the base Layer's legacy spelling of `dtype`, `legacy_input_support`).
 */
const KERAS1_RENAMES: readonly (readonly [string, string])[] = [
  ['init', 'embeddings_initializer'],
  ['W_regularizer', 'embeddings_regularizer'],
  ['W_constraint', 'embeddings_constraint'],
  ['input_dtype', 'dtype'],
];

/** A Keras 1 serialized regularizer or constraint: `{ name: 'MaxNorm', m: 2, axis: 0 }` (no `class_name`/`config`). */
function isKeras1Object(value: unknown): value is Record<string, unknown> & { name: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { name?: unknown }).name === 'string' &&
    !('class_name' in value) &&
    !('className' in value)
  );
}

/**
 * Keras 1's regularizer and constraint objects in Keras 2's `{ class_name, config }` form.
 * Keras 1.2 wrote `{ name: 'L1L2Regularizer', l1, l2 }` (also under the aliases
 * `WeightRegularizer` / `ActivityRegularizer`), `{ name: 'MaxNorm', m, axis }`,
 * `{ name: 'UnitNorm', axis }`, `{ name: 'MinMaxNorm', low, high, rate, axis }`,
 * `{ name: 'NonNeg' }`; Keras 2 renamed `m` to `max_value` and `low`/`high` to
 * `min_value`/`max_value`. Other names are passed on as `class_name` (core then names what it
 * does not know).
 */
function fromKeras1Object(key: string, value: unknown, notes: string[]): unknown {
  if (!isKeras1Object(value)) return value;
  const { name, ...args } = value;
  let json: KerasObjectJson;
  if (/^(L1L2Regularizer|WeightRegularizer|ActivityRegularizer)$/.test(name))
    json = { class_name: 'L1L2', config: { l1: args.l1 ?? 0, l2: args.l2 ?? 0 } };
  else if (name === 'MaxNorm') json = { class_name: 'MaxNorm', config: { max_value: args.m ?? 2, axis: args.axis ?? 0 } };
  else if (name === 'MinMaxNorm')
    json = {
      class_name: 'MinMaxNorm',
      config: { min_value: args.low ?? 0, max_value: args.high ?? 1, rate: args.rate ?? 1, axis: args.axis ?? 0 },
    };
  else json = { class_name: name, config: args };
  notes.push(`${key}: the Keras 1 object ${JSON.stringify(value)} read as Keras 2's ${JSON.stringify(json)}.`);
  return json;
}

/**
 * Maps a Keras 1.x layer config (`init`, `W_regularizer`, `W_constraint`, `input_dtype`,
 * `dropout`) to Keras 2's arguments, in place, with one note for what was renamed and one per
 * value that had to change. `dropout` has no Keras 2 argument (Keras 2's converter drops it with
 * a warning): a rate in (0, 1) becomes core's `embeddings_dropout`.
 */
function fromKeras1(fixed: Record<string, unknown>, notes: string[]): void {
  const renamed: string[] = [];
  for (const [old, now] of KERAS1_RENAMES) {
    if (!(old in fixed)) continue;
    const value = fixed[old];
    delete fixed[old];
    if (fixed[now] !== undefined && fixed[now] !== null) {
      // Keras 2 refuses both spellings of an argument; a base-layer dtype beside input_dtype wins (Keras 2's Layer does the same).
      if (now === 'dtype') continue;
      throw new InvalidConfigError(
        `the Embedding config has both the Keras 1 key "${old}" and the Keras 2 key "${now}"; Keras refuses such a config too.`,
      );
    }
    fixed[now] = old === 'W_regularizer' || old === 'W_constraint' ? fromKeras1Object(now, value, notes) : value;
    renamed.push(`${old} -> ${now}`);
  }
  // activity_regularizer kept its name in Keras 2, but a Keras 1 file holds a Keras 1 object there.
  if (isKeras1Object(fixed.activity_regularizer))
    fixed.activity_regularizer = fromKeras1Object('activity_regularizer', fixed.activity_regularizer, notes);
  if ('dropout' in fixed) {
    const rate = fixed.dropout;
    delete fixed.dropout;
    if (typeof rate === 'number' && rate > 0 && rate < 1 && fixed.embeddings_dropout === undefined) {
      fixed.embeddings_dropout = rate;
      notes.push(
        `Keras 1 dropout ${rate} read as embeddings_dropout ${rate}: both drop whole rows of the matrix in training only and scale the rest by 1/(1 - rate) (Keras 1 drew one mask per batch, this package draws one per sequence). Keras 2 has no such argument and its converter drops it, so it is not written back to Keras files.`,
      );
    } else {
      renamed.push(`dropout ${JSON.stringify(rate)} dropped (Keras 1 applies it only for 0 < rate < 1)`);
    }
  }
  if (renamed.length > 0) notes.push(`Keras 1 config keys read as Keras 2's legacy converter renames them: ${renamed.join(', ')}.`);
}

/**
 * A layer config (bare, or wrapped in `{ class_name, config }`) with Keras 1's argument names
 * renamed to Keras 2's, as Keras 2's `Embedding.from_config` accepts them (its constructor runs
 * the legacy converter): `init`, `W_regularizer`, `W_constraint`, `input_dtype`, `dropout`, and
 * Keras 1's regularizer and constraint objects. Nothing else is changed (unlike
 * {@link normalizeKerasLayerConfig}, which also reads quantized and legacy dtype policies for a
 * file's weights). The input is not modified; a config without Keras 1 keys is returned as is.
 */
export function withKeras2Arguments(json: unknown): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const outer = json as Record<string, unknown>;
  const wrapped = 'class_name' in outer && typeof outer.config === 'object' && outer.config !== null && !Array.isArray(outer.config);
  const inner = (wrapped ? outer.config : outer) as Record<string, unknown>;
  if (!KERAS1_RENAMES.some(([old]) => old in inner) && !('dropout' in inner)) return json;
  const fixed = { ...inner };
  fromKeras1(fixed, []);
  // Keras 1's input_dtype is the dtype of the indices (Keras 1 wrote 'int32'), not of the matrix.
  if ('input_dtype' in inner && typeof fixed.dtype === 'string' && /^u?int(8|16|32|64)$/.test(fixed.dtype)) delete fixed.dtype;
  return wrapped ? { ...outer, config: fixed } : fixed;
}

/** TF 1.x RandomUniform(minval=0, maxval=None): tf.random_uniform uses maxval=1 (minval=0) for float dtypes. */
function normalizeInitializer(init: unknown, notes: string[]): unknown {
  if (typeof init !== 'object' || init === null || Array.isArray(init)) return init;
  const obj = init as Record<string, unknown>;
  const className = obj.class_name ?? obj.className;
  const config = obj.config as Record<string, unknown> | undefined;
  if (typeof className !== 'string' || typeof config !== 'object' || config === null) return init;
  if (!/^(RandomUniform|RandomUniformV2|uniform|random_uniform)$/i.test(className)) return init;
  if (config.maxval !== null && config.minval !== null) return init;
  const fixed = { ...config };
  if (fixed.maxval === null) {
    fixed.maxval = 1;
    notes.push('embeddings_initializer RandomUniform has maxval null (TF 1.x); read as 1, the value tf.random_uniform uses for floats.');
  }
  if (fixed.minval === null) {
    fixed.minval = 0;
    notes.push('embeddings_initializer RandomUniform has minval null; read as 0, the value tf.random_uniform uses.');
  }
  return { ...obj, config: fixed };
}

/**
 * Reads a bare Embedding layer config as Keras 1, Keras 2, Keras 3 or TF.js model.json spell it
 * into Keras 2's spelling with values core accepts, for `fromKerasConfig`, normalizing the legacy
 * values real files hold:
 *
 * - Keras 1.x names (1.2.2 on TensorFlow and Theano): `init`, `W_regularizer`, `W_constraint`
 *   and `input_dtype` are renamed to `embeddings_initializer`, `embeddings_regularizer`,
 *   `embeddings_constraint` and `dtype` as Keras 2's legacy converter does; Keras 1's
 *   regularizer and constraint objects (`{ name: 'L1L2Regularizer', l1, l2 }`,
 *   `{ name: 'MaxNorm', m, axis }`...) become Keras 2's (`L1L2`, `MaxNorm(max_value, axis)`...);
 *   `dropout` (no Keras 2 argument) becomes `embeddings_dropout` when it is in (0, 1), the only
 *   range Keras 1 applied it in, and is dropped otherwise;
 * - Keras 3 quantization (`quantization_config`, a quantized dtype policy such as
 *   `int8_from_float32`): dropped, with the source dtype kept, since the weights are read
 *   (dequantized) into a float32 matrix;
 * - a layer `dtype` that is not `float32` (TF 1.x and Keras 1 wrote `'int32'`, the input dtype;
 *   mixed or half-precision policies store float32 or narrower variables): read as `float32`;
 *   a null dtype is removed;
 * - RandomUniform `maxval: null` / `minval: null` (TF 1.x): read as 1 / 0, TF's own values.
 *
 * Every other key and value is kept as written (`fromKerasConfig` and `resolveConfig` judge
 * them). The input is not modified. Throws `InvalidConfigError` when a config has both the Keras 1
 * and the Keras 2 spelling of an argument, which Keras refuses too.
 */
export function normalizeKerasLayerConfig(config: Readonly<Record<string, unknown>>): NormalizedLayerConfig {
  const notes: string[] = [];
  const fixed: Record<string, unknown> = { ...config };
  if (KERAS1_RENAMES.some(([old]) => old in fixed) || 'dropout' in fixed) fromKeras1(fixed, notes);
  // Keras 3 quantization: the layer's variables are read (dequantized) into a float32 matrix by
  // the .keras reader, so the loaded layer is a plain float32 Embedding. Core rejects a non-null
  // quantization_config and a quantized dtype policy, so both are normalized here.
  if (fixed.quantization_config !== undefined && fixed.quantization_config !== null) {
    notes.push(
      `quantization_config ${JSON.stringify(dtypePolicyName(fixed.quantization_config) ?? (fixed.quantization_config as { class_name?: unknown }).class_name ?? fixed.quantization_config)} dropped: the weights are dequantized to float32 on reading.`,
    );
    fixed.quantization_config = null;
  }
  const policy = dtypePolicyName(fixed.dtype);
  const quantized = typeof policy === 'string' ? QUANTIZED_POLICY.exec(policy) : null;
  if (quantized) {
    notes.push(
      `layer dtype policy ${JSON.stringify(quantized[0])} (Keras 3 quantized) read as ${JSON.stringify(quantized[2])}: the weights are dequantized on reading.`,
    );
    fixed.dtype = quantized[2];
  }
  const dtype = dtypePolicyName(fixed.dtype);
  if (dtype !== undefined && dtype !== null && dtype !== 'float32') {
    if (typeof dtype === 'string' && (FLOAT_POLICIES.has(dtype) || /^u?int(8|16|32|64)$/.test(dtype))) {
      notes.push(
        /^u?int/.test(dtype)
          ? `layer dtype ${JSON.stringify(dtype)} (TF 1.x and Keras 1 wrote the input dtype here) read as float32, the dtype of the stored matrix.`
          : `layer dtype policy ${JSON.stringify(dtype)} read as float32 (the matrix is widened to float32 on reading).`,
      );
      fixed.dtype = 'float32';
    }
  } else if (dtype === null) {
    delete fixed.dtype;
  }
  if ('embeddings_initializer' in fixed) fixed.embeddings_initializer = normalizeInitializer(fixed.embeddings_initializer, notes);
  return { config: fixed, notes };
}

/**
 * Keras 2 layer config (`Embedding.get_config()` in tf-keras; the `model_config` of an .h5):
 * `toKerasConfig` without PyTorch's `padding_idx`, `max_norm`, `norm_type`, `scale_grad_by_freq`
 * (`PYTORCH_CONFIG_KEYS`), which tf-keras's `from_config` would reject ("Keyword argument not
 * understood"). `toKerasConfig` already leaves out `embeddings_dropout` and Keras 3's LoRA keys.
 */
export function toKeras2LayerConfig(config: ResolvedEmbeddingConfig): KerasEmbeddingLayerConfig {
  const keras = toKerasConfig(config);
  for (const key of PYTORCH_CONFIG_KEYS) delete (keras as unknown as Record<string, unknown>)[key];
  return keras;
}

/** Keras 3 layer config, as `keras.saving.serialize_keras_object(layer)["config"]` spells it (3.x, no `input_length`). */
export interface Keras3EmbeddingLayerConfig {
  name: string;
  trainable: boolean;
  dtype: Keras3ObjectJson;
  input_dim: number;
  output_dim: number;
  embeddings_initializer: Keras3ObjectJson;
  embeddings_regularizer: Keras3ObjectJson | null;
  activity_regularizer: Keras3ObjectJson | null;
  embeddings_constraint: Keras3ObjectJson | null;
  mask_zero: boolean;
  /** Keras 3's LoRA rank, written (with `lora_alpha`) only when LoRA is enabled, as Keras 3's `get_config`. */
  lora_rank?: number;
  /** Keras 3's `lora_alpha`, only with `lora_rank`. */
  lora_alpha?: number;
}

/** The Keras 3 module each family of objects is serialized from. */
export type Keras3Module = 'keras.initializers' | 'keras.regularizers' | 'keras.constraints';

/**
 * A Keras 2 `{ class_name, config }` object as Keras 3 serializes it:
 * `{ module, class_name, config, registered_name: null }`, without the `dtype` argument that
 * tf-keras 2 initializer configs carried (Keras 3 initializers take none).
 */
export function toKeras3ObjectJson(json: KerasObjectJson, module: Keras3Module): Keras3ObjectJson;
export function toKeras3ObjectJson(json: KerasObjectJson | null, module: Keras3Module): Keras3ObjectJson | null;
export function toKeras3ObjectJson(json: KerasObjectJson | null, module: Keras3Module): Keras3ObjectJson | null {
  if (json === null) return null;
  const { dtype: _dtype, ...config } = json.config;
  return { module, class_name: json.class_name, config, registered_name: null };
}

/**
 * Keras 3 layer config. Keras 3 has no `input_length`: a fixed length is written by the model
 * writers as the InputLayer's `batch_shape` and the layer's `build_config`, as Keras 3 does.
 * LoRA's `lora_rank` / `lora_alpha` are written when the config sets a rank, as Keras 3 does.
 */
export function toKeras3LayerConfig(config: ResolvedEmbeddingConfig): Keras3EmbeddingLayerConfig {
  const k2 = toKeras2LayerConfig(config);
  return {
    name: k2.name,
    trainable: k2.trainable,
    dtype: keras3DtypePolicy(k2.dtype),
    input_dim: k2.input_dim,
    output_dim: k2.output_dim,
    embeddings_initializer: toKeras3ObjectJson(k2.embeddings_initializer, 'keras.initializers'),
    embeddings_regularizer: toKeras3ObjectJson(k2.embeddings_regularizer, 'keras.regularizers'),
    activity_regularizer: toKeras3ObjectJson(k2.activity_regularizer, 'keras.regularizers'),
    embeddings_constraint: toKeras3ObjectJson(k2.embeddings_constraint, 'keras.constraints'),
    mask_zero: k2.mask_zero,
    ...(typeof config.loraRank === 'number' ? { lora_rank: config.loraRank, lora_alpha: config.loraAlpha ?? config.loraRank } : {}),
  };
}

/**
 * TF.js model.json layer config: Keras 2's keys (as tensorflowjs_converter copies them), with
 * the class names TF.js registers (`LeCunUniform`, `L1L2` for L1/L2; see `toTfjsObjectJson`).
 * TF.js ignores an initializer `dtype` key, so it is kept.
 */
export function toTfjsLayerConfig(config: ResolvedEmbeddingConfig): KerasEmbeddingLayerConfig {
  const k2 = toKeras2LayerConfig(config);
  return {
    ...k2,
    embeddings_initializer: toTfjsObjectJson(k2.embeddings_initializer),
    embeddings_regularizer: toTfjsObjectJson(k2.embeddings_regularizer),
    activity_regularizer: toTfjsObjectJson(k2.activity_regularizer),
    embeddings_constraint: toTfjsObjectJson(k2.embeddings_constraint),
  };
}

/** The layer config in one dialect: {@link toKeras2LayerConfig}, {@link toKeras3LayerConfig} or {@link toTfjsLayerConfig}. */
export function toLayerConfig(
  config: ResolvedEmbeddingConfig,
  dialect: ConfigDialect,
): KerasEmbeddingLayerConfig | Keras3EmbeddingLayerConfig {
  if (dialect === 'keras3') return toKeras3LayerConfig(config);
  if (dialect === 'tfjs') return toTfjsLayerConfig(config);
  return toKeras2LayerConfig(config);
}

/** Finds every `{ class_name: 'Embedding', config }` object in a model config (any nesting), in document order. */
export function findEmbeddingConfigs(modelConfig: unknown): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
    } else if (typeof node === 'object' && node !== null) {
      const obj = node as Record<string, unknown>;
      if (obj.class_name === 'Embedding' && typeof obj.config === 'object' && obj.config !== null) {
        found.push(obj);
        return;
      }
      for (const value of Object.values(obj)) visit(value);
    }
  };
  visit(modelConfig);
  return found;
}
