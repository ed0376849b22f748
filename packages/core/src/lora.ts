// Keras 3's LoRA on the Embedding (keras/src/layers/core/embedding.py: enable_lora, the
// `embeddings` property, _get_embeddings_with_merged_lora): two trainable float32 matrices
// a (input_dim x rank) and b (rank x output_dim) beside the frozen table, and the layer's
// embeddings are E + (alpha / rank) * (a @ b). They live in core, beside the backend's table,
// so that every backend gets LoRA with the same numbers.
import { describeValue } from './errors/describe-value.js';
import { InvalidConfigError } from './errors/invalid-config-error.js';
import { initializeEmbeddings } from './initializers/initialize.js';
import { INITIALIZER_REGISTRY } from './initializers/registry.js';
import { type KerasIdentifier, resolveKerasObject } from './serialization/keras-object.js';

/** Options of `Embedding.enableLora`: Keras 3's `enable_lora(rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros")`. */
export interface EnableLoraOptions {
  /** Keras's `lora_alpha`: the delta is scaled by `alpha / rank`. Default: `rank` (a scale of 1). */
  alpha?: number;
  /** Initializer of `lora_embeddings_a` (input_dim x rank). Default `'he_uniform'`, as Keras. */
  aInitializer?: KerasIdentifier;
  /** Initializer of `lora_embeddings_b` (rank x output_dim). Default `'zeros'`, as Keras (so the layer's output does not change). */
  bInitializer?: KerasIdentifier;
  /** Seed of the initializers when their configs have none. Default: the layer's seed plus 1, or fresh. */
  seed?: number | null;
}

/** Checks Keras's `lora_rank`: a positive integer. */
export function checkLoraRank(rank: unknown, argument = 'lora_rank'): number {
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank <= 0)
    throw new InvalidConfigError(`${argument} must be a positive integer, received ${describeValue(rank)}.`);
  return rank;
}

/** Checks Keras's `lora_alpha`: a finite number (Keras documents an integer; any finite number scales the delta). */
export function checkLoraAlpha(alpha: unknown, argument = 'lora_alpha'): number {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw new InvalidConfigError(`${argument} must be a finite number, received ${describeValue(alpha)}.`);
  return alpha;
}

/**
 * The LoRA matrices of one layer (Keras's `lora_embeddings_a` and `lora_embeddings_b`, float32
 * as Keras keeps them), with the delta's arithmetic: lookups, the merged table and the
 * gradients of a and b. Sums run in float64 and each result is rounded once to float32.
 */
export class LoraWeights {
  /** `lora_embeddings_a`, input_dim x rank, row-major. */
  readonly a: Float32Array;
  /** `lora_embeddings_b`, rank x output_dim, row-major. */
  readonly b: Float32Array;

  constructor(
    readonly inputDim: number,
    readonly outputDim: number,
    readonly rank: number,
    readonly alpha: number,
    a?: Float32Array,
    b?: Float32Array,
  ) {
    this.a = a ?? new Float32Array(inputDim * rank);
    this.b = b ?? new Float32Array(rank * outputDim);
  }

  /** Keras's initial a and b (`he_uniform` and `zeros` by default), seeded like the table's initializers. */
  static initialize(inputDim: number, outputDim: number, rank: number, options: EnableLoraOptions, seed: number | null): LoraWeights {
    const alpha = options.alpha === undefined ? rank : checkLoraAlpha(options.alpha, 'alpha');
    const init = (argument: string, value: KerasIdentifier | undefined, fallback: string) =>
      resolveKerasObject(argument, 'initializer', INITIALIZER_REGISTRY, value ?? fallback);
    const aInit = init('a_initializer', options.aInitializer, 'he_uniform');
    const bInit = init('b_initializer', options.bInitializer, 'zeros');
    const a = initializeEmbeddings(aInit, inputDim, rank, seed);
    const b = initializeEmbeddings(bInit, rank, outputDim, seed === null ? null : seed + 1);
    return new LoraWeights(inputDim, outputDim, rank, alpha, a, b);
  }

  /** Keras's `lora_alpha / lora_rank`. */
  get scale(): number {
    return this.alpha / this.rank;
  }

  /** Row `row` of `(alpha / rank) * (a @ b)` added to `out[at..at + outputDim)` (float64 sums, one float32 rounding per value). */
  addRowDelta(row: number, out: Float32Array, at: number): void {
    const { rank, outputDim: d, a, b } = this;
    const s = this.scale;
    for (let c = 0; c < d; c++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += a[row * rank + k]! * b[k * d + c]!;
      out[at + c] = out[at + c]! + s * sum;
    }
  }

  /** The delta of every looked-up row added to a lookup's output (`ids.length x outputDim`), in place. */
  addToLookup(ids: Int32Array, out: Float32Array): void {
    const d = this.outputDim;
    for (let i = 0; i < ids.length; i++) this.addRowDelta(ids[i]!, out, i * d);
  }

  /** Rows [start, start + count) of the table (`rows`, row-major) merged with the delta, in place: Keras's `embeddings` property. */
  mergeInto(start: number, rows: Float32Array): Float32Array {
    const d = this.outputDim;
    const count = d === 0 ? 0 : rows.length / d;
    for (let r = 0; r < count; r++) this.addRowDelta(start + r, rows, r * d);
    return rows;
  }

  /**
   * The gradients of a and b from the table gradient of a lookup (`rows` distinct, `values`
   * their summed dLoss/dOutput, rows.length x outputDim): dA[row] = s * g @ bᵀ (only those
   * rows), dB = s * Σ a[row]ᵀ g (dense, rank x output_dim).
   */
  gradients(rows: Int32Array, values: Float64Array): { a: Float64Array; b: Float64Array } {
    const { rank, outputDim: d, a, b } = this;
    const s = this.scale;
    const ga = new Float64Array(rows.length * rank);
    const gb = new Float64Array(rank * d);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      for (let j = 0; j < rank; j++) {
        let sum = 0;
        const aj = a[row * rank + j]!;
        for (let c = 0; c < d; c++) {
          const g = values[k * d + c]!;
          sum += g * b[j * d + c]!;
          gb[j * d + c]! += s * aj * g;
        }
        ga[k * rank + j] = s * sum;
      }
    }
    return { a: ga, b: gb };
  }
}
