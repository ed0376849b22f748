import { EmbeddingError, hasCode } from './embedding-error.js';

/** `setWeights` (or initial weights) got the wrong number of arrays, the wrong length or a non-numeric array. The layer is left unchanged. Code `INVALID_WEIGHTS`. */
export class InvalidWeightsError extends EmbeddingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_WEIGHTS', message, options);
    this.name = 'InvalidWeightsError';
  }

  /** True when `error` is a InvalidWeightsError from any copy of this package. */
  static override isInstance(error: unknown): error is InvalidWeightsError {
    return hasCode(error, 'INVALID_WEIGHTS');
  }
}
