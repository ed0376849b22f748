import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { KerasIdentifier, KerasObject } from '../serialization/keras-object.js';
import { BAG_MODES, type BagMode } from '../tensor/bags.js';
import type { EmbeddingConfig } from './embedding-config.js';

/**
 * The arguments of PyTorch's `nn.EmbeddingBag(num_embeddings, embedding_dim, max_norm=None,
 * norm_type=2.0, scale_grad_by_freq=False, mode='mean', sparse=False, _weight=None,
 * include_last_offset=False, padding_idx=None)`, in this library's names (`inputDim` is
 * `num_embeddings`, `outputDim` is `embedding_dim`), plus the table's initializer and seed as
 * `Embedding` has them. `sparse` has no counterpart: gradients here are always sparse.
 */
export interface EmbeddingBagConfig {
  /** torch's `num_embeddings`: rows of the table. A positive integer. */
  inputDim: number;
  /** torch's `embedding_dim`: size of each row. A non-negative integer. */
  outputDim: number;
  /** torch's `mode`: `'sum'`, `'mean'` or `'max'`. Default `'mean'`, as torch. */
  mode?: BagMode;
  /** torch's `padding_idx`: the row starts as zeros, gets no gradient, and is left out of every bag (and of the mean's count). Negative counts from the end. Default null. */
  paddingIdx?: number | null;
  /** torch's `max_norm`: looked-up rows over this norm are rescaled in the table before pooling. Default null. */
  maxNorm?: number | null;
  /** torch's `norm_type`. Default 2. */
  normType?: number;
  /** torch's `scale_grad_by_freq` (not with `'max'`, as torch). Default false. */
  scaleGradByFreq?: boolean;
  /** torch's `include_last_offset`: `offsets` has one more entry, the end of the last bag (CSR). Default false. */
  includeLastOffset?: boolean;
  /**
   * Initializer of the table. Default `'uniform'` (Keras's RandomUniform(-0.05, 0.05), as
   * `Embedding`); torch initializes N(0, 1): `{ className: 'RandomNormal', config: { mean: 0, stddev: 1 } }`.
   */
  embeddingsInitializer?: KerasIdentifier;
  /** Seed of the initializer: the same seed gives the same table on every backend. Default: fresh random weights. */
  seed?: number | null;
  /** Layer name. Default `'embedding_bag'`, then `'embedding_bag_1'`, ... */
  name?: string;
  /** Whether training updates the table (torch's `requires_grad`). Default true. */
  trainable?: boolean;
  /** Weight dtype. Only `'float32'`. */
  dtype?: 'float32';
}

/** An {@link EmbeddingBagConfig} with every default filled in and every value validated. */
export interface ResolvedEmbeddingBagConfig {
  readonly inputDim: number;
  readonly outputDim: number;
  readonly mode: BagMode;
  /** Normalized to [0, input_dim), or null. */
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;
  readonly includeLastOffset: boolean;
  readonly embeddingsInitializer: KerasObject;
  readonly seed: number | null;
  readonly name: string;
  readonly trainable: boolean;
  readonly dtype: 'float32';
}

/** The arguments an EmbeddingBag takes from `Embedding`'s config (validated there, with the same messages). */
const TABLE_KEYS = [
  'inputDim',
  'outputDim',
  'paddingIdx',
  'maxNorm',
  'normType',
  'scaleGradByFreq',
  'embeddingsInitializer',
  'seed',
  'name',
  'trainable',
  'dtype',
] as const;

/** Every argument of {@link EmbeddingBagConfig}. */
export const EMBEDDING_BAG_KEYS: readonly string[] = [...TABLE_KEYS, 'mode', 'includeLastOffset'];

let nameCounter = 0;

/** The next default layer name: `'embedding_bag'`, then `'embedding_bag_1'`, ... */
export function defaultBagName(): string {
  const n = nameCounter++;
  return n === 0 ? 'embedding_bag' : `embedding_bag_${n}`;
}

/**
 * Splits an EmbeddingBag config into its pooling arguments (validated here) and the table's
 * `Embedding` config (validated by `Embedding.create`). Unknown keys (Keras-only arguments such
 * as `maskZero` or regularizers included) are an `InvalidConfigError` listing the known ones;
 * `'max'` with `scaleGradByFreq` is refused as torch refuses it.
 */
export function splitBagConfig(config: EmbeddingBagConfig): {
  mode: BagMode;
  includeLastOffset: boolean;
  table: EmbeddingConfig;
} {
  if (typeof config !== 'object' || config === null) {
    throw new InvalidConfigError(
      `EmbeddingBag config must be an object with at least inputDim and outputDim, received ${describeValue(config)}.`,
    );
  }
  for (const key of Object.keys(config)) {
    if (!EMBEDDING_BAG_KEYS.includes(key)) {
      throw new InvalidConfigError(
        `Unknown EmbeddingBag argument ${JSON.stringify(key)}. Known arguments: ${EMBEDDING_BAG_KEYS.join(', ')}.`,
      );
    }
  }
  const { mode = 'mean', includeLastOffset = false, ...rest } = config;
  checkBagOptions(mode, includeLastOffset, config.scaleGradByFreq ?? false);
  return { mode, includeLastOffset, table: { ...rest, name: rest.name ?? defaultBagName() } };
}

/** Checks `mode` and `includeLastOffset` (and torch's "max mode does not support scaling the gradient by the frequency"). */
export function checkBagOptions(mode: unknown, includeLastOffset: unknown, scaleGradByFreq: unknown): asserts mode is BagMode {
  if (typeof mode !== 'string' || !BAG_MODES.includes(mode as BagMode)) {
    throw new InvalidConfigError(`mode must be one of 'sum', 'mean', 'max' (torch's EmbeddingBag modes), received ${describeValue(mode)}.`);
  }
  if (typeof includeLastOffset !== 'boolean') {
    throw new InvalidConfigError(`include_last_offset must be a boolean, received ${describeValue(includeLastOffset)}.`);
  }
  if (mode === 'max' && scaleGradByFreq === true) {
    throw new InvalidConfigError(
      'scale_grad_by_freq must be false with mode \'max\' (torch: "max mode does not support scaling the gradient by the frequency").',
    );
  }
}
