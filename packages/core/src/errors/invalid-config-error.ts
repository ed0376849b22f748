import { EmbeddingError, hasCode } from './embedding-error.js';

/** A layer argument (or a Keras config value) breaks its rule: the message names the argument, the value received and the rule. Code `INVALID_CONFIG`. */
export class InvalidConfigError extends EmbeddingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_CONFIG', message, options);
    this.name = 'InvalidConfigError';
  }

  /** True when `error` is a InvalidConfigError from any copy of this package. */
  static override isInstance(error: unknown): error is InvalidConfigError {
    return hasCode(error, 'INVALID_CONFIG');
  }
}
