import { type EmbeddingConfig, fromKerasConfig, resolveConfig } from '@embedding-layer/core';
import { dtypePolicyName, normalizeKerasLayerConfig } from '@embedding-layer/core/backend';
import { badFile } from '../errors.js';

// The dialects themselves (Keras 1 -> 2, Keras 2 / Keras 3 / TF.js spelling, dtype policies, the
// Keras <-> TF.js class names) live in core's config/dialects; io re-exports them and adds what
// is about files: errors that name the file, and input_length from a Keras 3 InputLayer.
export {
  type ConfigDialect,
  findEmbeddingConfigs,
  type Keras3EmbeddingLayerConfig,
  type Keras3ObjectJson,
  keras3DtypePolicy,
  toKeras2LayerConfig,
  toKeras3LayerConfig,
  toLayerConfig,
  toTfjsLayerConfig,
} from '@embedding-layer/core/backend';

/** The result of {@link readLayerConfig}: a config for `Embedding.create` and what was normalized. */
export interface ReadLayerConfigResult {
  /** Config in camelCase, as `Embedding.create` takes it. */
  readonly config: EmbeddingConfig;
  /** One sentence per legacy value that had to be mapped to a value core accepts. */
  readonly notes: readonly string[];
}

/** @internal A dtype policy's name (core's `dtypePolicyName`), for io's readers. */
export const policyName: (dtype: unknown) => unknown = dtypePolicyName;

/**
 * Reads one Embedding layer config as Keras 1, Keras 2, Keras 3 or TF.js model.json spell it
 * (bare, or wrapped in `{ class_name: 'Embedding', config }`) into a config for
 * `Embedding.create`, normalizing the legacy values real files hold that core rejects (core's
 * `normalizeKerasLayerConfig` does the normalizing; this adds errors that name the file):
 *
 * - Keras 1.x names (1.2.2 on TensorFlow and Theano): `init`, `W_regularizer`, `W_constraint`
 *   and `input_dtype` are renamed to `embeddings_initializer`, `embeddings_regularizer`,
 *   `embeddings_constraint` and `dtype` as Keras 2's legacy converter does; Keras 1's
 *   regularizer and constraint objects (`{ name: 'L1L2Regularizer', l1, l2 }`,
 *   `{ name: 'MaxNorm', m, axis }`...) become Keras 2's (`L1L2`, `MaxNorm(max_value, axis)`...);
 *   `dropout` (no Keras 2 argument) becomes `embeddings_dropout` when it is in (0, 1), the only
 *   range Keras 1 applied it in, and is dropped otherwise;
 * - Keras 3 quantization (`quantization_config`, a quantized policy such as `int8_from_float32`):
 *   dropped, the source dtype kept, since the .keras reader dequantizes the weights;
 * - a layer `dtype` that is not `float32` (TF 1.x and Keras 1 wrote `'int32'`, the input dtype;
 *   mixed or half-precision policies store float32 or narrower variables): read as `float32`,
 *   since the matrix is widened to float32 on reading;
 * - RandomUniform `maxval: null` / `minval: null` (TF 1.x): read as 1 / 0, TF's own values.
 *
 * Every other value is kept as written; each normalization adds a sentence to `notes`. Throws
 * `BadFileError` naming `file` when core rejects the config.
 */
export function readLayerConfig(json: unknown, file = '<config>'): ReadLayerConfigResult {
  let inner = json as Record<string, unknown>;
  if (typeof inner === 'object' && inner !== null && 'class_name' in inner && typeof inner.config === 'object' && inner.config !== null) {
    if (inner.class_name !== 'Embedding')
      throw badFile(file, `expected a layer with class_name "Embedding", found ${JSON.stringify(inner.class_name)}.`);
    inner = inner.config as Record<string, unknown>;
  }
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
    throw badFile(file, `the Embedding config must be an object, found ${JSON.stringify(inner)}.`);
  let normalized: ReturnType<typeof normalizeKerasLayerConfig>;
  try {
    normalized = normalizeKerasLayerConfig(inner);
  } catch (error) {
    throw badFile(file, (error as Error)?.message ?? String(error), error);
  }
  try {
    const config = fromKerasConfig(normalized.config);
    resolveConfig(config);
    return { config, notes: [...normalized.notes] };
  } catch (error) {
    throw badFile(file, `the Embedding config is not valid: ${(error as Error)?.message ?? String(error)}`, error);
  }
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
