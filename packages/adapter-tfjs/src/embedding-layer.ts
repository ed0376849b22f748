import { InvalidConfigError, type KerasIdentifier, type KerasObject, resolveConfig, resolveInitializer } from '@embedding-layer/core';
import { computeOutputShape, initializeEmbeddings } from '@embedding-layer/core/backend';
import type * as tfjs from '@tensorflow/tfjs';
import { fastGather, registerGatherKernel } from './fast-gather.js';
import { checkIndexTensor } from './index-tensor.js';
import type { TfjsRuntime } from './runtime.js';
import { serializeTfjsObject, type TfjsSerializable, toKerasIdentifier, toTfjsObject } from './tfjs-objects.js';

type TfjsEmbeddingArgs = Parameters<TfjsRuntime['layers']['embedding']>[0];

/**
 * The class name our layer is registered under in TF.js's global serialization registry, and
 * the `class_name` written to model.json. Deliberately not `'Embedding'`: registering that name
 * would replace TF.js's built-in `Embedding` for every model the process loads afterwards.
 * The `package>Class` form is the one `tf.serialization.registerClass(cls, pkg, name)` and
 * Keras 3's `register_keras_serializable(package)` use for custom objects.
 */
export const EMBEDDING_LAYER_CLASS_NAME = 'EmbeddingLayer>Embedding';

/** Marks classes made by {@link registerEmbeddingLayer}, so a second call (any copy of this package) reuses the registered one. */
const MARK = Symbol.for('embedding-layer.tfjs.Embedding');

/**
 * Arguments of the TF.js layer: everything `tf.layers.embedding` accepts (`inputDim`,
 * `outputDim`, `embeddingsInitializer`, `embeddingsRegularizer`, `activityRegularizer`,
 * `embeddingsConstraint`, `maskZero`, `inputLength`, and the base `LayerArgs`: `inputShape`,
 * `batchInputShape`, `batchSize`, `dtype`, `name`, `trainable`, `weights`), plus Keras names for
 * the initializer, regularizers and constraint (`'uniform'`, `'l2'`, `'max_norm'`,
 * `{ class_name, config }`), plus `seed`.
 */
export interface EmbeddingLayerArgs
  extends Omit<TfjsEmbeddingArgs, 'embeddingsInitializer' | 'embeddingsRegularizer' | 'activityRegularizer' | 'embeddingsConstraint'> {
  /** A TF.js initializer (`'randomUniform'`, `tf.initializers.randomNormal({...})`) or a Keras name. Default `'randomUniform'` (Keras `'uniform'`). */
  embeddingsInitializer?: TfjsEmbeddingArgs['embeddingsInitializer'] | KerasIdentifier;
  /** A TF.js regularizer (`'l1l2'`, `tf.regularizers.l2()`) or a Keras name (`'l1'`, `'l2'`). Default none. */
  embeddingsRegularizer?: TfjsEmbeddingArgs['embeddingsRegularizer'] | KerasIdentifier | null;
  /** As `embeddingsRegularizer`, for the output. TF.js refuses eager calls of a layer that has one. */
  activityRegularizer?: TfjsEmbeddingArgs['activityRegularizer'] | KerasIdentifier | null;
  /** A TF.js constraint (`'maxNorm'`, `tf.constraints.nonNeg()`) or a Keras name (`'max_norm'`, `'non_neg'`). Default none. */
  embeddingsConstraint?: TfjsEmbeddingArgs['embeddingsConstraint'] | KerasIdentifier | null;
  /**
   * When set, the initial weights come from core's seeded (Keras-exact) initializer, bit for bit
   * the weights every backend of `@embedding-layer/core` holds for this seed and initializer;
   * otherwise TF.js's initializer draws them, as in `tf.layers.embedding`.
   */
  seed?: number | null;
}

/** An instance of the layer class returned by {@link registerEmbeddingLayer}: a `tf.layers.Layer`. */
export interface EmbeddingLayer extends tfjs.layers.Layer {
  /** Size of the vocabulary: valid indices are 0 ... inputDim - 1. */
  readonly inputDim: number;
  /** Size of each embedding vector. */
  readonly outputDim: number;
  /** Whether index 0 is padding: `computeMask` returns `indices != 0`. */
  readonly maskZero: boolean;
  /** `inputLength` as given (a number, a list with nulls, or null). */
  readonly inputLength: number | (number | null)[] | null;
  /** The seed of core's initializer, or null when TF.js's initializer draws the weights. */
  readonly seed: number | null;
  /** The (inputDim, outputDim) weight, created by `build`. */
  readonly embeddings: tfjs.LayerVariable | null;
}

/** The layer class: `new Embedding(args)`; registered with TF.js under {@link EMBEDDING_LAYER_CLASS_NAME}. */
export interface EmbeddingLayerClass {
  new (args: EmbeddingLayerArgs): EmbeddingLayer;
  /** {@link EMBEDDING_LAYER_CLASS_NAME}. */
  readonly className: string;
  /**
   * On TF.js's `cpu` and `wasm` backends, `call` gathers rows with this package's row-copy
   * kernel (`EMBEDDING_GATHER_KERNEL`) instead of TF.js's gather: same bits, same gradient, 20x+
   * faster. Other backends always use `tf.gather`. Default true; set it to false to use
   * `tf.gather` everywhere (it applies to every instance of the class, which is process-wide).
   */
  fastPath: boolean;
}

let layerCount = 0;

function one(inputs: tfjs.Tensor | tfjs.Tensor[]): tfjs.Tensor {
  if (!Array.isArray(inputs)) return inputs;
  if (inputs.length !== 1) throw new Error(`Embedding expects exactly one input tensor, received ${inputs.length}.`);
  return inputs[0]!;
}

function toList(value: number | readonly (number | null)[]): (number | null)[] {
  return typeof value === 'number' ? [value] : [...value];
}

/**
 * Defines the Keras `Embedding` as a `tf.layers.Layer` subclass of the given TF.js module and
 * registers it with `tf.serialization.registerClass`, so `model.save` / `tf.loadLayersModel`
 * round-trip it. Pass the same `@tensorflow/tfjs` module your model uses (the class must extend
 * that module's `tf.layers.Layer`). Calling it again returns the registered class.
 *
 * The layer agrees with `tf.layers.embedding` (same arguments, outputs, masks and output
 * shapes), and in addition validates indices with core's rules: a negative, non-integer or
 * out-of-range index raises `InvalidIndexError` on every TF.js backend (WebGL's gather would
 * return zeros; TF.js's cast would truncate 1.5 to 1).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const Embedding = registerEmbeddingLayer(tf);
 * const model = tf.sequential();
 * model.add(new Embedding({ inputDim: 1000, outputDim: 64, inputLength: 10 }));
 * ```
 */
export function registerEmbeddingLayer(tf: TfjsRuntime): EmbeddingLayerClass {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[EMBEDDING_LAYER_CLASS_NAME]?.[0] as
    | (EmbeddingLayerClass & { [MARK]?: boolean })
    | undefined;
  if (registered?.[MARK]) return registered;

  registerGatherKernel(tf);

  /**
   * `tf.gather(table, ids)` with the table's gradient computed as `tf.scatterND(ids, dy)`: the
   * same values as TF.js's own gather gradient (an unsorted segment sum, duplicates summed in
   * order), in O(ids x outputDim) work instead of TF.js CPU's O(inputDim x ids x outputDim).
   * The forward pass is this package's row-copy kernel on the cpu backend (unless
   * `fast` is false), `tf.gather` elsewhere; the gradient is the same either way.
   */
  function gatherRows(table: tfjs.Tensor, ids: tfjs.Tensor, inputDim: number, fast: boolean): tfjs.Tensor {
    const lookup = tf.customGrad((...args: (tfjs.Tensor | tfjs.GradSaveFunc)[]) => {
      const [t, save] = args as [tfjs.Tensor, tfjs.GradSaveFunc];
      save([ids]);
      return {
        value: fast ? fastGather(tf, t, ids) : tf.gather(t, ids),
        gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
          const used = saved[0]!;
          return tf.scatterND(tf.reshape(used, [used.size, 1]), dy, [inputDim, dy.shape[1]!]);
        },
      };
    });
    return lookup(table);
  }

  class Embedding extends tf.layers.Layer {
    static readonly className = EMBEDDING_LAYER_CLASS_NAME;
    static readonly [MARK] = true;
    static fastPath = true;

    declare readonly inputDim: number;
    declare readonly outputDim: number;
    declare readonly maskZero: boolean;
    declare readonly inputLength: number | (number | null)[] | null;
    declare readonly seed: number | null;
    declare embeddings: tfjs.LayerVariable | null;
    declare private readonly embeddingsInitializer: TfjsSerializable;
    declare private readonly embeddingsRegularizer: TfjsSerializable | null;
    declare private readonly embeddingsConstraint: TfjsSerializable | null;
    declare private readonly kerasInitializer: KerasObject | null;

    constructor(args: EmbeddingLayerArgs) {
      const {
        inputDim,
        outputDim,
        embeddingsInitializer,
        embeddingsRegularizer,
        activityRegularizer,
        embeddingsConstraint,
        maskZero,
        inputLength,
        seed,
        ...layerArgs
      } = args ?? ({} as EmbeddingLayerArgs);
      // PyTorch's and Keras 3's LoRA arguments of core's Embedding are not TF.js's: refuse them rather than drop them silently.
      for (const key of ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'loraRank', 'loraAlpha']) {
        if ((layerArgs as Record<string, unknown>)[key] != null) {
          throw new InvalidConfigError(
            `${key} is not an argument of the tf.layers.Layer Embedding (it takes tf.layers.embedding's arguments); for it use core's Embedding.create({ ..., ${key} }, { backend: createTfjsBackend() }).`,
          );
        }
      }
      // TF.js derives a default name from the class name, which holds '>' (not valid in a weight name).
      super({ ...layerArgs, name: layerArgs.name ?? `embedding_layer_${++layerCount}` });
      // Core's rules, with core's errors: positive integer inputDim, integer outputDim, inputLength, seed, maskZero.
      const resolved = resolveConfig({
        inputDim,
        outputDim,
        name: 'probe',
        ...(maskZero !== undefined ? { maskZero } : {}),
        ...(inputLength !== undefined ? { inputLength } : {}),
        ...(seed !== undefined ? { seed } : {}),
      });
      if (args.batchInputShape == null && args.inputShape == null) {
        // As tf.layers.embedding: the input shape is (inputLength...) or (null,).
        this.batchInputShape = [args.batchSize ?? null, ...(inputLength == null ? [null] : toList(inputLength))];
      }
      const self = this as unknown as Record<string, unknown>;
      // TF.js sets dtype only when an input shape is given; fix it so getConfig() is the same before and after a save/load.
      if (this.dtype == null) self.dtype = args.dtype ?? 'float32';
      self.inputDim = resolved.inputDim;
      self.outputDim = resolved.outputDim;
      self.maskZero = resolved.maskZero;
      self.supportsMasking = resolved.maskZero;
      self.inputLength = inputLength == null ? null : typeof inputLength === 'number' ? inputLength : [...inputLength];
      self.seed = resolved.seed;
      self.embeddings = null;
      self.embeddingsInitializer = toTfjsObject(tf, 'initializer', embeddingsInitializer ?? 'randomUniform');
      self.embeddingsRegularizer = toTfjsObject(tf, 'regularizer', embeddingsRegularizer);
      // TF.js's Layer reads `activityRegularizer` (symbolic calls add its loss; eager calls refuse it).
      self.activityRegularizer = toTfjsObject(tf, 'regularizer', activityRegularizer, 'activityRegularizer');
      self.embeddingsConstraint = toTfjsObject(tf, 'constraint', embeddingsConstraint);
      // With a seed, core draws the weights: resolve the initializer in core's (Keras's) terms now, so a bad one fails here.
      // (initializeEmbeddings falls back to the layer seed when the initializer has none.)
      self.kerasInitializer = resolved.seed === null ? null : resolveInitializer(toKerasIdentifier(this.embeddingsInitializer));
    }

    /** Core's seeded initializer as a TF.js initializer, for `seed`. */
    private seededInitializer(): tfjs.serialization.Serializable {
      const { inputDim, outputDim } = this;
      const initializer = this.kerasInitializer!;
      return {
        getClassName: () => 'EmbeddingLayerSeeded',
        getConfig: () => ({}),
        apply: (shape: number[], dtype?: tfjs.DataType) =>
          tf.tensor(initializeEmbeddings(initializer, inputDim, outputDim, this.seed), shape, dtype ?? 'float32'),
      } as unknown as tfjs.serialization.Serializable;
    }

    override build(_inputShape: tfjs.Shape | tfjs.Shape[]): void {
      const initializer = this.seed === null ? this.embeddingsInitializer : this.seededInitializer();
      this.embeddings = this.addWeight(
        'embeddings',
        [this.inputDim, this.outputDim],
        this.dtype,
        initializer as never,
        (this.embeddingsRegularizer ?? undefined) as never,
        true,
        (this.embeddingsConstraint ?? undefined) as never,
      );
      this.built = true;
    }

    // An embedding accepts inputs of any rank.
    protected override warnOnIncompatibleInputShape(_inputShape: tfjs.Shape): void {}

    override computeOutputShape(inputShape: tfjs.Shape | tfjs.Shape[]): tfjs.Shape {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfjs.Shape;
      return computeOutputShape(shape, this.outputDim, this.inputLength);
    }

    override computeMask(inputs: tfjs.Tensor | tfjs.Tensor[], _mask?: tfjs.Tensor | tfjs.Tensor[]): tfjs.Tensor {
      // TF.js types the result as a Tensor, but null means "no mask" there too (its own Embedding returns null).
      if (!this.maskZero) return null as unknown as tfjs.Tensor;
      const input = one(inputs);
      return tf.tidy(() => tf.notEqual(input, tf.zerosLike(input)));
    }

    override call(inputs: tfjs.Tensor | tfjs.Tensor[], kwargs: Record<string, unknown>): tfjs.Tensor {
      return tf.tidy(() => {
        this.invokeCallHook(inputs, kwargs);
        const input = one(inputs);
        checkIndexTensor(input, this.inputDim);
        const ids = tf.reshape(input.dtype === 'int32' ? input : tf.cast(input, 'int32'), [input.size]);
        const rows = gatherRows(this.embeddings!.read(), ids, this.inputDim, Embedding.fastPath);
        return tf.reshape(rows, this.computeOutputShape(input.shape) as number[]);
      });
    }

    override getConfig(): tfjs.serialization.ConfigDict {
      const config: tfjs.serialization.ConfigDict = {
        inputDim: this.inputDim,
        outputDim: this.outputDim,
        embeddingsInitializer: serializeTfjsObject(this.embeddingsInitializer),
        embeddingsRegularizer: serializeTfjsObject(this.embeddingsRegularizer),
        activityRegularizer: serializeTfjsObject((this as unknown as { activityRegularizer: TfjsSerializable | null }).activityRegularizer),
        embeddingsConstraint: serializeTfjsObject(this.embeddingsConstraint),
        maskZero: this.maskZero,
        inputLength: this.inputLength,
        seed: this.seed,
      };
      return { ...config, ...super.getConfig() };
    }
  }

  tf.serialization.registerClass(Embedding);
  return Embedding as unknown as EmbeddingLayerClass;
}
