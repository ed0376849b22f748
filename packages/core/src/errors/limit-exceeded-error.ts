import { EmbeddingError, hasCode } from './embedding-error.js';

/**
 * A call would need more memory than the backend (or JavaScript) can give it, found before
 * anything is allocated: a lookup's output (`indices x output_dim x 4` bytes) over the
 * backend's `supports.maxOutputBytes`, or a table over its `supports.maxTableBytes`. Nothing
 * was allocated and the layer (and the runtime under it) still works. Code `LIMIT_EXCEEDED`.
 */
export class LimitExceededError extends EmbeddingError {
  /** What was too large, e.g. `'lookup output'` or `'table'`. */
  readonly what: string;
  /** Bytes the call needed. */
  readonly requested: number;
  /** Bytes the backend allows. */
  readonly limit: number;
  /** The backend's name. */
  readonly backend: string;

  constructor(what: string, requested: number, limit: number, backend: string, detail?: string, options?: { cause?: unknown }) {
    super(
      'LIMIT_EXCEEDED',
      `The ${what} would take ${requested} bytes; the "${backend}" backend allows at most ${limit}${detail ? ` (${detail})` : ''}. ` +
        'Split the call into smaller batches.',
      options,
    );
    this.name = 'LimitExceededError';
    this.what = what;
    this.requested = requested;
    this.limit = limit;
    this.backend = backend;
  }

  /** True when `error` is a LimitExceededError from any copy of this package. */
  static override isInstance(error: unknown): error is LimitExceededError {
    return hasCode(error, 'LIMIT_EXCEEDED');
  }
}
