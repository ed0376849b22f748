import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { type KerasIdentifier, toKerasJson } from '../serialization/keras-object.js';
import { dtypePolicyName } from './dtype-policy.js';
import type { EmbeddingConfig, ResolvedEmbeddingConfig } from './embedding-config.js';

/** An initializer, regularizer or constraint as Keras JSON spells it. */
export interface KerasObjectJson {
  class_name: string;
  config: Record<string, unknown>;
}

/** A Keras 3 serialized object: `{ module, class_name, config, registered_name }`. */
export interface Keras3ObjectJson {
  module: string;
  class_name: string;
  config: Record<string, unknown>;
  registered_name: null;
}

/**
 * The layer config exactly as Keras 2 (`layer.get_config()`, `model.to_json()`, the
 * `model_config` of an .h5 file) spells it.
 */
export interface KerasEmbeddingLayerConfig {
  name: string;
  trainable: boolean;
  dtype: string;
  batch_input_shape: (number | null)[];
  input_dim: number;
  output_dim: number;
  embeddings_initializer: KerasObjectJson;
  embeddings_regularizer: KerasObjectJson | null;
  activity_regularizer: KerasObjectJson | null;
  embeddings_constraint: KerasObjectJson | null;
  mask_zero: boolean;
  input_length: number | (number | null)[] | null;
  /** PyTorch's `padding_idx` (normalized), written only when set: not a Keras argument. */
  padding_idx?: number;
  /** PyTorch's `max_norm`, written only when set: not a Keras argument. */
  max_norm?: number;
  /** PyTorch's `norm_type`, written only with `max_norm` and when not 2 (`"inf"` for Infinity). */
  norm_type?: number | 'inf';
  /** PyTorch's `scale_grad_by_freq`, written only when true. */
  scale_grad_by_freq?: true;
}

/** Keys of {@link KerasEmbeddingLayerConfig} that are PyTorch's, not Keras's: io's Keras writers leave them out. */
export const PYTORCH_CONFIG_KEYS: readonly string[] = ['padding_idx', 'max_norm', 'norm_type', 'scale_grad_by_freq'];

/**
 * Keras 2 `get_config()` of a resolved layer config: only Keras's keys (no `embeddings_dropout`,
 * which is not a Keras argument; no Keras 3 `lora_rank` / `lora_alpha`, which Keras 2 refuses).
 */
export function toKerasConfig(config: ResolvedEmbeddingConfig): KerasEmbeddingLayerConfig {
  const lengths =
    config.inputLength === null ? [null] : typeof config.inputLength === 'number' ? [config.inputLength] : [...config.inputLength];
  const out: KerasEmbeddingLayerConfig = {
    name: config.name,
    trainable: config.trainable,
    dtype: config.dtype,
    batch_input_shape: [null, ...lengths],
    input_dim: config.inputDim,
    output_dim: config.outputDim,
    embeddings_initializer: toKerasJson(config.embeddingsInitializer)!,
    embeddings_regularizer: toKerasJson(config.embeddingsRegularizer),
    activity_regularizer: toKerasJson(config.activityRegularizer),
    embeddings_constraint: toKerasJson(config.embeddingsConstraint),
    mask_zero: config.maskZero,
    input_length:
      config.inputLength === null ? null : typeof config.inputLength === 'number' ? config.inputLength : [...config.inputLength],
  };
  // Pure Keras: `embeddingsDropout` is not a Keras argument and is not written (it stays in `layer.config`).
  // PyTorch's arguments are written only when set, so a layer without them has a pure Keras config.
  if (config.paddingIdx !== null) out.padding_idx = config.paddingIdx;
  if (config.maxNorm !== null) {
    out.max_norm = config.maxNorm;
    if (config.normType !== 2) out.norm_type = config.normType === Number.POSITIVE_INFINITY ? 'inf' : config.normType;
  }
  if (config.scaleGradByFreq) out.scale_grad_by_freq = true;
  return out;
}

/** Keys of Keras 2, Keras 3 and TF.js configs that carry nothing this layer uses. */
const IGNORED_KEYS = new Set(['batch_input_shape', 'batch_shape', 'input_shape', 'batch_size', 'sparse', 'autocast', 'weights']);
/** Keys that must be absent or null: features this layer does not implement. */
const UNSUPPORTED_KEYS = new Set(['quantization_config', 'embeddings_quantizer']);

const KEY_MAP: Readonly<Record<string, keyof EmbeddingConfig>> = {
  name: 'name',
  trainable: 'trainable',
  input_dim: 'inputDim',
  output_dim: 'outputDim',
  embeddings_initializer: 'embeddingsInitializer',
  embeddings_regularizer: 'embeddingsRegularizer',
  activity_regularizer: 'activityRegularizer',
  embeddings_constraint: 'embeddingsConstraint',
  mask_zero: 'maskZero',
  input_length: 'inputLength',
  seed: 'seed',
  embeddings_dropout: 'embeddingsDropout',
  padding_idx: 'paddingIdx',
  max_norm: 'maxNorm',
  norm_type: 'normType',
  scale_grad_by_freq: 'scaleGradByFreq',
  // Keras 3's LoRA keys (written by its get_config only when lora_rank is set; Keras 2 and TF.js have none).
  lora_rank: 'loraRank',
  lora_alpha: 'loraAlpha',
};

/**
 * Reads a layer config as Keras 2, Keras 3 or TF.js model.json spell it (snake_case keys; the
 * bare config or the `{ class_name: 'Embedding', config }` wrapper) into an
 * {@link EmbeddingConfig}. Values are kept as written; validation happens when the layer is
 * created.
 */
export function fromKerasConfig(json: unknown): EmbeddingConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidConfigError(`A Keras layer config must be an object, received ${describeValue(json)}.`);
  }
  let inner = json as Record<string, unknown>;
  if ('class_name' in inner && typeof inner.config === 'object' && inner.config !== null) {
    if (inner.class_name !== 'Embedding') {
      throw new InvalidConfigError(`Expected a layer with class_name "Embedding", received class_name ${describeValue(inner.class_name)}.`);
    }
    inner = inner.config as Record<string, unknown>;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inner)) {
    if (key === 'dtype') {
      out.dtype = dtypePolicyName(value);
    } else if (key === 'norm_type' && value === 'inf') {
      out.normType = Number.POSITIVE_INFINITY;
    } else if (KEY_MAP[key]) {
      out[KEY_MAP[key]] = value as KerasIdentifier;
    } else if (UNSUPPORTED_KEYS.has(key)) {
      if (value !== null && value !== undefined)
        throw new InvalidConfigError(
          `${key} is not supported by this Embedding (received ${describeValue(value)}); expected null or absent.`,
        );
    } else if (!IGNORED_KEYS.has(key)) {
      throw new InvalidConfigError(
        `Unknown key ${JSON.stringify(key)} in the Embedding config. Known keys: ${[...Object.keys(KEY_MAP), 'dtype', ...IGNORED_KEYS, ...UNSUPPORTED_KEYS].join(', ')}.`,
      );
    }
  }
  return out as unknown as EmbeddingConfig;
}
