import { describeValue } from './describe-value.js';
import { EmbeddingError, hasCode } from './embedding-error.js';

/**
 * An index is negative, not an integer, not finite, or `>= input_dim`. Code `INVALID_INDEX`.
 *
 * Keras on CPU raises `indices[i,j] = v is not in [0, N)`; TF on GPU, tfjs WebGL and ONNX
 * Runtime (negative ids) silently return zeros or another row. Every backend here raises this.
 */
export class InvalidIndexError extends EmbeddingError {
  /** The offending value, as received (a number or a bigint). */
  readonly value: unknown;
  /** Its position in the input, one coordinate per dimension. */
  readonly position: readonly number[];
  /** The layer's `input_dim`: valid indices are `0 <= i < inputDim`. */
  readonly inputDim: number;

  constructor(value: unknown, position: readonly number[], inputDim: number) {
    const where = `indices[${position.join(',')}]`;
    const shown = typeof value === 'number' ? String(value) : describeValue(value);
    super(
      'INVALID_INDEX',
      `${where} = ${shown} is not a valid index: expected an integer in [0, ${inputDim}) (input_dim = ${inputDim}). ` +
        'Indices must be integers from 0 to input_dim - 1; if your vocabulary has N words, input_dim must be at least max index + 1.',
    );
    this.name = 'InvalidIndexError';
    this.value = value;
    this.position = position;
    this.inputDim = inputDim;
  }

  /** True when `error` is an InvalidIndexError from any copy of this package. */
  static override isInstance(error: unknown): error is InvalidIndexError {
    return hasCode(error, 'INVALID_INDEX');
  }
}
