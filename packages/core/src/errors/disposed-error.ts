import { EmbeddingError, hasCode } from './embedding-error.js';

/** A layer was used after `dispose()`. Code `LAYER_DISPOSED`. */
export class DisposedError extends EmbeddingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAYER_DISPOSED', message, options);
    this.name = 'DisposedError';
  }

  /** True when `error` is a DisposedError from any copy of this package. */
  static override isInstance(error: unknown): error is DisposedError {
    return hasCode(error, 'LAYER_DISPOSED');
  }
}
