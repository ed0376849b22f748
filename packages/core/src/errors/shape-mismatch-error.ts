import { EmbeddingError, hasCode } from './embedding-error.js';

/** An input's shape disagrees with `input_length`, or a `{ data, shape }` pair whose data length is not the product of its shape, or a ragged nested array. Code `SHAPE_MISMATCH`. */
export class ShapeMismatchError extends EmbeddingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SHAPE_MISMATCH', message, options);
    this.name = 'ShapeMismatchError';
  }

  /** True when `error` is a ShapeMismatchError from any copy of this package. */
  static override isInstance(error: unknown): error is ShapeMismatchError {
    return hasCode(error, 'SHAPE_MISMATCH');
  }
}
