import {
  type EmbeddingConfig,
  fromKerasConfig,
  type KerasEmbeddingLayerConfig,
  type KerasObjectJson,
  PYTORCH_CONFIG_KEYS,
  type ResolvedEmbeddingConfig,
  resolveConfig,
  toKerasConfig,
} from '@embedding-layer/core';
import { badFile } from '../errors.js';

/** A config dialect: how one ecosystem spells the Embedding layer config. */
export type ConfigDialect = 'keras2' | 'keras3' | 'tfjs';

/** The result of {@link readLayerConfig}: a config for `Embedding.create` and what was normalized. */
export interface ReadLayerConfigResult {
  /** Config in camelCase, as `Embedding.create` takes it. */
  readonly config: EmbeddingConfig;
  /** One sentence per legacy value that had to be mapped to a value core accepts. */
  readonly notes: readonly string[];
}

/** Mixed-precision and low-precision policies whose variables load as float32 here. */
const FLOAT_POLICIES = new Set(['mixed_float16', 'mixed_bfloat16', 'float16', 'bfloat16', 'float64', 'half', 'double']);

/** Keras 3's quantized dtype policy names: `int8_from_float32`, `int4/128_from_float32`, `int4/-1_from_float32`, `float8_from_bfloat16`. */
const QUANTIZED_POLICY = /^(int8|int4|float8)(?:\/(?:-?\d+|None))?_from_(\w+)$/;

/**
 * A dtype policy's name: a string as is; a DTypePolicy object's `config.name`; a quantized
 * policy object of Keras 3.14+ (`{ mode: 'int4/-1', source_name: 'float32' }`, no name) as
 * `<mode>_from_<source_name>`.
 */
export function policyName(dtype: unknown): unknown {
  if (typeof dtype === 'object' && dtype !== null) {
    const config = (dtype as { config?: { name?: unknown; mode?: unknown; source_name?: unknown } }).config;
    if (config?.name === undefined && typeof config?.mode === 'string') return `${config.mode}_from_${config.source_name ?? 'float32'}`;
    return config?.name;
  }
  return dtype;
}

function normalizeInitializer(init: unknown, notes: string[]): unknown {
  if (typeof init !== 'object' || init === null || Array.isArray(init)) return init;
  const obj = init as Record<string, unknown>;
  const className = obj.class_name ?? obj.className;
  const config = obj.config as Record<string, unknown> | undefined;
  if (typeof className !== 'string' || typeof config !== 'object' || config === null) return init;
  if (!/^(RandomUniform|RandomUniformV2|uniform|random_uniform)$/i.test(className)) return init;
  if (config.maxval !== null && config.minval !== null) return init;
  const fixed = { ...config };
  // TF 1.x RandomUniform(minval=0, maxval=None): tf.random_uniform uses maxval=1 for float dtypes.
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
  let json: { class_name: string; config: Record<string, unknown> };
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
 * a warning): a rate in (0, 1) becomes core's `embeddings_dropout`, see {@link readLayerConfig}.
 */
function fromKeras1(fixed: Record<string, unknown>, notes: string[], file: string): void {
  const renamed: string[] = [];
  for (const [old, now] of KERAS1_RENAMES) {
    if (!(old in fixed)) continue;
    const value = fixed[old];
    delete fixed[old];
    if (fixed[now] !== undefined && fixed[now] !== null) {
      // Keras 2 refuses both spellings of an argument; a base-layer dtype beside input_dtype wins (Keras 2's Layer does the same).
      if (now === 'dtype') continue;
      throw badFile(
        file,
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

/** True when a layer config uses Keras 1.x argument names. */
function isKeras1Config(config: Record<string, unknown>): boolean {
  return KERAS1_RENAMES.some(([old]) => old in config) || 'dropout' in config;
}

/**
 * Reads one Embedding layer config as Keras 1, Keras 2, Keras 3 or TF.js model.json spell it
 * (bare, or wrapped in `{ class_name: 'Embedding', config }`) into a config for
 * `Embedding.create`, normalizing the legacy values real files hold that core rejects:
 *
 * - Keras 1.x names (1.2.2 on TensorFlow and Theano): `init`, `W_regularizer`, `W_constraint`
 *   and `input_dtype` are renamed to `embeddings_initializer`, `embeddings_regularizer`,
 *   `embeddings_constraint` and `dtype` as Keras 2's legacy converter does; Keras 1's
 *   regularizer and constraint objects (`{ name: 'L1L2Regularizer', l1, l2 }`,
 *   `{ name: 'MaxNorm', m, axis }`...) become Keras 2's (`L1L2`, `MaxNorm(max_value, axis)`...);
 *   `dropout` (no Keras 2 argument) becomes `embeddings_dropout` when it is in (0, 1), the only
 *   range Keras 1 applied it in, and is dropped otherwise;
 * - a layer `dtype` that is not `float32` (TF 1.x and Keras 1 wrote `'int32'`, the input dtype;
 *   mixed or half-precision policies store float32 or narrower variables): read as `float32`,
 *   since the matrix is widened to float32 on reading;
 * - RandomUniform `maxval: null` / `minval: null` (TF 1.x): read as 1 / 0, TF's own values.
 *
 * Every other value is kept as written; each normalization adds a sentence to `notes`. Throws
 * `BadFileError` naming `file` when core rejects the config.
 */
export function readLayerConfig(json: unknown, file = '<config>'): ReadLayerConfigResult {
  const notes: string[] = [];
  let inner = json as Record<string, unknown>;
  if (typeof inner === 'object' && inner !== null && 'class_name' in inner && typeof inner.config === 'object' && inner.config !== null) {
    if (inner.class_name !== 'Embedding')
      throw badFile(file, `expected a layer with class_name "Embedding", found ${JSON.stringify(inner.class_name)}.`);
    inner = inner.config as Record<string, unknown>;
  }
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
    throw badFile(file, `the Embedding config must be an object, found ${JSON.stringify(inner)}.`);
  const fixed: Record<string, unknown> = { ...inner };
  if (isKeras1Config(fixed)) fromKeras1(fixed, notes, file);
  // Keras 3 quantization: the layer's variables are read (dequantized) into a float32 matrix by
  // the .keras reader, so the loaded layer is a plain float32 Embedding. Core rejects a non-null
  // quantization_config and a quantized dtype policy, so both are normalized here.
  if (fixed.quantization_config !== undefined && fixed.quantization_config !== null) {
    notes.push(
      `quantization_config ${JSON.stringify(policyName(fixed.quantization_config) ?? (fixed.quantization_config as { class_name?: unknown }).class_name ?? fixed.quantization_config)} dropped: the weights are dequantized to float32 on reading.`,
    );
    fixed.quantization_config = null;
  }
  const quantized = typeof policyName(fixed.dtype) === 'string' ? QUANTIZED_POLICY.exec(policyName(fixed.dtype) as string) : null;
  if (quantized) {
    notes.push(
      `layer dtype policy ${JSON.stringify(quantized[0])} (Keras 3 quantized) read as ${JSON.stringify(quantized[2])}: the weights are dequantized on reading.`,
    );
    fixed.dtype = quantized[2];
  }
  const dtype = policyName(fixed.dtype);
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
  try {
    const config = fromKerasConfig(fixed);
    resolveConfig(config);
    return { config, notes };
  } catch (error) {
    throw badFile(file, `the Embedding config is not valid: ${(error as Error)?.message ?? String(error)}`, error);
  }
}

/**
 * Keras 2 layer config (`Embedding.get_config()` in tf-keras; the `model_config` of an .h5):
 * core's `toKerasConfig` without the keys Keras does not know (`embeddings_dropout`, and
 * PyTorch's `padding_idx`, `max_norm`, `norm_type`, `scale_grad_by_freq` (`PYTORCH_CONFIG_KEYS`),
 * which tf-keras's `from_config` would reject: "Keyword argument not understood"). The file keeps
 * the table (a padding row of zeros stays zeros), not those rules; safetensors metadata keeps them.
 */
export function toKeras2LayerConfig(config: ResolvedEmbeddingConfig): KerasEmbeddingLayerConfig {
  const { embeddings_dropout: _dropout, ...keras } = toKerasConfig(config) as KerasEmbeddingLayerConfig & { embeddings_dropout?: number };
  for (const key of PYTORCH_CONFIG_KEYS) delete (keras as unknown as Record<string, unknown>)[key];
  return keras;
}

/** A Keras 3 serialized object: `{ module, class_name, config, registered_name }`. */
export interface Keras3ObjectJson {
  module: string;
  class_name: string;
  config: Record<string, unknown>;
  registered_name: null;
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

function keras3Object(json: KerasObjectJson | null, module: string): Keras3ObjectJson | null {
  if (json === null) return null;
  // Keras 3 initializers take no `dtype` argument (tf-keras 2 configs carried one).
  const { dtype: _dtype, ...config } = json.config;
  return { module, class_name: json.class_name, config, registered_name: null };
}

/** The Keras 3 DTypePolicy object for a dtype name. */
export function keras3DtypePolicy(name: string): Keras3ObjectJson {
  return { module: 'keras', class_name: 'DTypePolicy', config: { name }, registered_name: null };
}

/**
 * Keras 3 layer config. Keras 3 has no `input_length`: a fixed length is written by the model
 * writers as the InputLayer's `batch_shape` and the layer's `build_config`, as Keras 3 does.
 */
export function toKeras3LayerConfig(config: ResolvedEmbeddingConfig): Keras3EmbeddingLayerConfig {
  const k2 = toKeras2LayerConfig(config);
  return {
    name: k2.name,
    trainable: k2.trainable,
    dtype: keras3DtypePolicy(k2.dtype),
    input_dim: k2.input_dim,
    output_dim: k2.output_dim,
    embeddings_initializer: keras3Object(k2.embeddings_initializer, 'keras.initializers')!,
    embeddings_regularizer: keras3Object(k2.embeddings_regularizer, 'keras.regularizers'),
    activity_regularizer: keras3Object(k2.activity_regularizer, 'keras.regularizers'),
    embeddings_constraint: keras3Object(k2.embeddings_constraint, 'keras.constraints'),
    mask_zero: k2.mask_zero,
    ...(typeof config.loraRank === 'number' ? { lora_rank: config.loraRank, lora_alpha: config.loraAlpha ?? config.loraRank } : {}),
  };
}

/** TF.js registers these initializers under other class names than Keras. */
const TFJS_INITIALIZER_NAMES: Readonly<Record<string, string>> = { LecunUniform: 'LeCunUniform', LecunNormal: 'LeCunNormal' };

function tfjsRegularizer(json: KerasObjectJson | null): KerasObjectJson | null {
  if (json === null) return null;
  // TF.js registers only L1L2; Keras's L1(l1) and L2(l2) are L1L2 with the other factor 0.
  if (json.class_name === 'L1') return { class_name: 'L1L2', config: { l1: json.config.l1, l2: 0 } };
  if (json.class_name === 'L2') return { class_name: 'L1L2', config: { l1: 0, l2: json.config.l2 } };
  return json;
}

/**
 * TF.js model.json layer config: Keras 2's keys (as tensorflowjs_converter copies them), with
 * the class names TF.js registers (`LeCunUniform`, `L1L2` for L1/L2). TF.js ignores an
 * initializer `dtype` key, so it is kept.
 */
export function toTfjsLayerConfig(config: ResolvedEmbeddingConfig): KerasEmbeddingLayerConfig {
  const k2 = toKeras2LayerConfig(config);
  return {
    ...k2,
    embeddings_initializer: {
      class_name: TFJS_INITIALIZER_NAMES[k2.embeddings_initializer.class_name] ?? k2.embeddings_initializer.class_name,
      config: k2.embeddings_initializer.config,
    },
    embeddings_regularizer: tfjsRegularizer(k2.embeddings_regularizer),
    activity_regularizer: tfjsRegularizer(k2.activity_regularizer),
  };
}

/** The layer config in one dialect. */
export function toLayerConfig(
  config: ResolvedEmbeddingConfig,
  dialect: ConfigDialect,
): KerasEmbeddingLayerConfig | Keras3EmbeddingLayerConfig {
  if (dialect === 'keras3') return toKeras3LayerConfig(config);
  if (dialect === 'tfjs') return toTfjsLayerConfig(config);
  return toKeras2LayerConfig(config);
}

/**
 * @internal The `input_length` a layer's input shape implies (Keras 3 has no `input_length`: a
 * fixed length lives in the InputLayer's `batch_shape` and the layer's `build_config`): the
 * shape without its batch axis, a number for one axis, a list for several; undefined when the
 * shape fixes no axis or is not a shape.
 */
export function inputLengthFromShape(shape: unknown): number | (number | null)[] | undefined {
  if (!Array.isArray(shape) || shape.length < 2) return undefined;
  const axes = shape.slice(1);
  if (!axes.every((d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d > 0))) return undefined;
  if (axes.every((d) => d === null)) return undefined;
  return axes.length === 1 ? (axes[0] as number) : (axes as (number | null)[]);
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
