import { CONSTRAINT_REGISTRY } from '../constraints/registry.js';
import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { INITIALIZER_REGISTRY } from '../initializers/registry.js';
import { REGULARIZER_REGISTRY } from '../regularizers/registry.js';
import { type KerasIdentifier, type KerasObject, resolveKerasObject } from '../serialization/keras-object.js';

/** `input_length`: one length, a list of lengths (null = any), or null for variable length. */
export type InputLength = number | readonly (number | null)[] | null;

/**
 * The arguments of Keras's `Embedding`, in camelCase, with Keras's defaults.
 *
 * Keras 2: `Embedding(input_dim, output_dim, embeddings_initializer='uniform',
 * embeddings_regularizer=None, activity_regularizer=None, embeddings_constraint=None,
 * mask_zero=False, input_length=None)`.
 */
export interface EmbeddingConfig {
  /** Size of the vocabulary (maximum integer index + 1). A positive integer. */
  inputDim: number;
  /** Size of each embedding vector. A non-negative integer (the Keras 2 docs allow 0). */
  outputDim: number;
  /** Initializer of the (inputDim, outputDim) matrix. Default `'uniform'` = RandomUniform(-0.05, 0.05). */
  embeddingsInitializer?: KerasIdentifier;
  /** Regularizer of the matrix (`'l1'`, `'l2'`, `'l1_l2'` or a config). Default none. */
  embeddingsRegularizer?: KerasIdentifier | null;
  /** Regularizer of the layer's output. Default none. */
  activityRegularizer?: KerasIdentifier | null;
  /** Constraint projected onto the matrix after each update (`'max_norm'`, `'non_neg'`, ...). Default none. */
  embeddingsConstraint?: KerasIdentifier | null;
  /** Whether index 0 is padding: the mask is `index != 0`. Row 0 is still looked up and trainable. Default false. */
  maskZero?: boolean;
  /** Length(s) of the input sequences when constant; checked against every input's shape. Default null. */
  inputLength?: InputLength;
  /** Layer name. Default `'embedding'`, then `'embedding_1'`, ... as Keras numbers them. */
  name?: string;
  /** Whether training updates the matrix. Default true. */
  trainable?: boolean;
  /** Weight dtype. Only `'float32'`. */
  dtype?: 'float32';
  /**
   * Seed for the initializer when the initializer config has none. The same seed gives the same
   * weights, bit for bit, on every backend. Default: fresh random weights.
   */
  seed?: number | null;
  /**
   * Word-embedding dropout rate in [0, 1) (Gal and Ghahramani 2016, the paper the Keras docs
   * cite): in training only, each word type of a sequence is dropped everywhere in that
   * sequence and kept rows are scaled by 1 / (1 - rate). Identity at inference. Not a Keras
   * argument, so `getConfig()` (pure Keras) does not write it; it stays in `layer.config`, and
   * `fromConfig` still reads an `embeddings_dropout` key. Default 0.
   */
  embeddingsDropout?: number;
  /**
   * PyTorch's `padding_idx`: a row that starts as zeros when the layer initializes it (not when
   * weights are given) and never receives a gradient (every optimizer, the embeddings
   * regularizer's gradient included, leaves it as it is). A negative value counts from the end
   * (`-1` is the last row); it must lie in [-input_dim, input_dim). Independent of `maskZero`
   * (which only masks; both may be set). Stored normalized (non-negative). Default null.
   */
  paddingIdx?: number | null;
  /**
   * PyTorch's `max_norm`: at every lookup (in training too), each looked-up row whose
   * `normType`-norm exceeds it is rescaled in the table, in place, by
   * `maxNorm / (norm + 1e-7)` (`torch.embedding_renorm_`). A positive number, or null (default).
   */
  maxNorm?: number | null;
  /** PyTorch's `norm_type`: the p of the p-norm `maxNorm` bounds; a number > 0 (`Infinity`: max |value|). Default 2. */
  normType?: number;
  /** PyTorch's `scale_grad_by_freq`: the gradient of each row is divided by the number of times the batch looks it up. Default false. */
  scaleGradByFreq?: boolean;
  /**
   * Keras 3's `lora_rank`: when set, the layer is created with LoRA enabled (as
   * `layer.enableLora(loraRank, { alpha: loraAlpha })`): the table is frozen and two trainable
   * matrices of this rank add `(loraAlpha / loraRank) * (a @ b)` to it. Incompatible with
   * `embeddingsConstraint` (as in Keras) and `maxNorm`. Default null.
   */
  loraRank?: number | null;
  /** Keras 3's `lora_alpha`: scales the LoRA delta by `loraAlpha / loraRank`. Only with `loraRank`. Default: `loraRank`. */
  loraAlpha?: number | null;
}

/** An {@link EmbeddingConfig} with every default filled in and every value validated. */
export interface ResolvedEmbeddingConfig {
  readonly inputDim: number;
  readonly outputDim: number;
  readonly embeddingsInitializer: KerasObject;
  readonly embeddingsRegularizer: KerasObject | null;
  readonly activityRegularizer: KerasObject | null;
  readonly embeddingsConstraint: KerasObject | null;
  readonly maskZero: boolean;
  readonly inputLength: InputLength;
  readonly name: string;
  readonly trainable: boolean;
  readonly dtype: 'float32';
  readonly seed: number | null;
  readonly embeddingsDropout: number;
  /** PyTorch's `padding_idx`, normalized to [0, input_dim), or null. */
  readonly paddingIdx: number | null;
  /** PyTorch's `max_norm`, or null. */
  readonly maxNorm: number | null;
  /** PyTorch's `norm_type` (2 by default). */
  readonly normType: number;
  /** PyTorch's `scale_grad_by_freq`. */
  readonly scaleGradByFreq: boolean;
  /** Keras 3's `lora_rank` while LoRA is enabled (`enableLora` sets it, `mergeLora` clears it), or null. */
  readonly loraRank: number | null;
  /** Keras 3's `lora_alpha` while LoRA is enabled, or null. */
  readonly loraAlpha: number | null;
}

/** Largest `input_dim`: indices are held as int32. */
export const MAX_INPUT_DIM = 2 ** 31 - 1;

const KNOWN_KEYS = [
  'inputDim',
  'outputDim',
  'embeddingsInitializer',
  'embeddingsRegularizer',
  'activityRegularizer',
  'embeddingsConstraint',
  'maskZero',
  'inputLength',
  'name',
  'trainable',
  'dtype',
  'seed',
  'embeddingsDropout',
  'paddingIdx',
  'maxNorm',
  'normType',
  'scaleGradByFreq',
  'loraRank',
  'loraAlpha',
];

let nameCounter = 0;

function defaultName(): string {
  const n = nameCounter++;
  return n === 0 ? 'embedding' : `embedding_${n}`;
}

function fail(argument: string, value: unknown, rule: string): never {
  throw new InvalidConfigError(`${argument} must be ${rule}, received ${describeValue(value)}.`);
}

function checkInputLength(value: unknown): InputLength {
  if (value === null || value === undefined) return null;
  const rule = 'a positive integer, a non-empty list of positive integers or nulls, or null';
  const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (typeof value === 'number') return ok(value) ? value : fail('input_length', value, rule);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => v === null || ok(v))) return [...value];
  return fail('input_length', value, rule);
}

/**
 * Validates a config and fills Keras's defaults. Each error names the argument (in Keras's
 * snake_case, as the docs spell it), the value received and the rule.
 */
export function resolveConfig(config: EmbeddingConfig): ResolvedEmbeddingConfig {
  if (typeof config !== 'object' || config === null) fail('config', config, 'an object with at least inputDim and outputDim');
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.includes(key)) {
      throw new InvalidConfigError(`Unknown Embedding argument ${JSON.stringify(key)}. Known arguments: ${KNOWN_KEYS.join(', ')}.`);
    }
  }
  const { inputDim, outputDim } = config;
  if (typeof inputDim !== 'number' || !Number.isInteger(inputDim) || inputDim <= 0 || inputDim > MAX_INPUT_DIM)
    fail('input_dim', inputDim, `a positive integer (at most ${MAX_INPUT_DIM})`);
  if (typeof outputDim !== 'number' || !Number.isInteger(outputDim) || outputDim < 0)
    fail('output_dim', outputDim, 'a non-negative integer');
  if (inputDim * outputDim > Number.MAX_SAFE_INTEGER) fail('input_dim * output_dim', inputDim * outputDim, 'at most 2^53 - 1 elements');
  const maskZero = config.maskZero ?? false;
  if (typeof maskZero !== 'boolean') fail('mask_zero', maskZero, 'a boolean');
  const trainable = config.trainable ?? true;
  if (typeof trainable !== 'boolean') fail('trainable', trainable, 'a boolean');
  const name = config.name ?? defaultName();
  if (typeof name !== 'string' || name.length === 0) fail('name', name, 'a non-empty string');
  const dtype = config.dtype ?? 'float32';
  if (dtype !== 'float32') fail('dtype', dtype, '"float32"');
  const seed = config.seed ?? null;
  if (seed !== null && (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER))
    fail('seed', seed, 'null or an integer in [0, 2^53)');
  const inputLength = checkInputLength(config.inputLength);
  const embeddingsDropout = config.embeddingsDropout ?? 0;
  if (typeof embeddingsDropout !== 'number' || !(embeddingsDropout >= 0 && embeddingsDropout < 1))
    fail('embeddings_dropout', embeddingsDropout, 'a number in [0, 1)');
  const paddingIdx = checkPaddingIdx(config.paddingIdx, inputDim);
  const maxNorm = config.maxNorm ?? null;
  if (maxNorm !== null && (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0))
    fail('max_norm', maxNorm, 'null or a finite number > 0');
  const normType = config.normType ?? 2;
  if (typeof normType !== 'number' || !(normType > 0)) fail('norm_type', normType, 'a number > 0 (Infinity for the max norm)');
  const scaleGradByFreq = config.scaleGradByFreq ?? false;
  if (typeof scaleGradByFreq !== 'boolean') fail('scale_grad_by_freq', scaleGradByFreq, 'a boolean');
  const loraRank = config.loraRank ?? null;
  if (loraRank !== null && (typeof loraRank !== 'number' || !Number.isInteger(loraRank) || loraRank <= 0))
    fail('lora_rank', loraRank, 'null or a positive integer');
  let loraAlpha = config.loraAlpha ?? null;
  if (loraAlpha !== null && (typeof loraAlpha !== 'number' || !Number.isFinite(loraAlpha)))
    fail('lora_alpha', loraAlpha, 'null or a finite number');
  if (loraAlpha !== null && loraRank === null) fail('lora_alpha', loraAlpha, 'null unless lora_rank is set (it scales the LoRA delta)');
  if (loraRank !== null) {
    loraAlpha ??= loraRank;
    if (config.embeddingsConstraint !== null && config.embeddingsConstraint !== undefined)
      fail('lora_rank', loraRank, 'null when embeddings_constraint is set (Keras: "Lora is incompatible with embedding constraints")');
    if (maxNorm !== null) fail('lora_rank', loraRank, 'null when max_norm is set (max_norm rescales the frozen table, not the LoRA delta)');
  }

  let initializer = resolveKerasObject(
    'embeddings_initializer',
    'initializer',
    INITIALIZER_REGISTRY,
    config.embeddingsInitializer ?? 'uniform',
  );
  // The layer seed becomes the initializer's seed, so getConfig()/fromConfig() keep the weights reproducible.
  if (seed !== null && 'seed' in initializer.config && initializer.config.seed === null) {
    initializer = { className: initializer.className, config: { ...initializer.config, seed } };
  }
  const optional = (argument: string, family: string, registry: typeof REGULARIZER_REGISTRY, value: unknown) =>
    value === null || value === undefined ? null : resolveKerasObject(argument, family, registry, value);

  return {
    inputDim,
    outputDim,
    embeddingsInitializer: initializer,
    embeddingsRegularizer: optional('embeddings_regularizer', 'regularizer', REGULARIZER_REGISTRY, config.embeddingsRegularizer),
    activityRegularizer: optional('activity_regularizer', 'regularizer', REGULARIZER_REGISTRY, config.activityRegularizer),
    embeddingsConstraint: optional('embeddings_constraint', 'constraint', CONSTRAINT_REGISTRY, config.embeddingsConstraint),
    maskZero,
    inputLength,
    name,
    trainable,
    dtype,
    seed,
    embeddingsDropout,
    paddingIdx,
    maxNorm,
    normType,
    scaleGradByFreq,
    loraRank,
    loraAlpha,
  };
}

/**
 * PyTorch's `padding_idx` rule (`torch.nn.Embedding`): an integer in [-input_dim, input_dim),
 * a negative one counting from the end; returned as the row it names. PyTorch asserts
 * "Padding_idx must be within num_embeddings"; here it is an `InvalidConfigError`.
 */
function checkPaddingIdx(value: unknown, inputDim: number): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -inputDim || value >= inputDim) {
    fail(
      'padding_idx',
      value,
      `null or an integer in [-input_dim, input_dim) = [${-inputDim}, ${inputDim}) (PyTorch: "Padding_idx must be within num_embeddings"; a negative value counts from the end)`,
    );
  }
  return value < 0 ? inputDim + value : value;
}
