import { EmbeddingError } from '@embedding-layer/core';

/** A token is not in a {@link Vocabulary} and no out-of-vocabulary row was reserved. Code `UNKNOWN_TOKEN`. */
export class UnknownTokenError extends EmbeddingError {
  /** The token, as given. */
  readonly token: string;
  /** Its position in the sequence being encoded. */
  readonly position: number;

  constructor(token: string, position: number, message: string) {
    super('UNKNOWN_TOKEN', message);
    this.name = 'UnknownTokenError';
    this.token = token;
    this.position = position;
  }

  /** True when `error` is an UnknownTokenError from any copy of this package. */
  static override isInstance(error: unknown): error is UnknownTokenError {
    return EmbeddingError.isInstance(error) && error.code === 'UNKNOWN_TOKEN';
  }
}
