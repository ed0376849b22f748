import { EmbeddingError, hasCode } from './embedding-error.js';

/** A model or weights file is malformed, truncated, or holds something other than what was asked for. Code `BAD_FILE`. */
export class BadFileError extends EmbeddingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_FILE', message, options);
    this.name = 'BadFileError';
  }

  /** True when `error` is a BadFileError from any copy of this package. */
  static override isInstance(error: unknown): error is BadFileError {
    return hasCode(error, 'BAD_FILE');
  }
}
