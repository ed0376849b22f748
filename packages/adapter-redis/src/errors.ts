import { EmbeddingError } from '@embedding-layer/core';

/** The code of {@link RedisUnavailableError}: core's `EmbeddingErrorCode` `'BACKEND_UNAVAILABLE'`. */
export const BACKEND_UNAVAILABLE = 'BACKEND_UNAVAILABLE' as const;

/**
 * A Redis node did not answer within the configured timeout, refused the connection, or
 * failed a command (a stopped master before its replica took over, a cluster that lost
 * slots). Code `BACKEND_UNAVAILABLE`; `nodes` lists every `host:port` involved. A lookup that
 * fails this way returns nothing (never a partial output); a training step that fails this
 * way may have been applied to the blocks of the nodes that answered (each block's update is
 * atomic, a step across nodes is not). Retry after the cluster has failed over.
 */
export class RedisUnavailableError extends EmbeddingError {
  /** The `host:port` of each node that did not answer. */
  readonly nodes: readonly string[];

  constructor(message: string, nodes: readonly string[], options?: { cause?: unknown }) {
    super(BACKEND_UNAVAILABLE, message, options);
    this.name = 'RedisUnavailableError';
    this.nodes = Object.freeze([...nodes]);
  }

  /** True when `error` is a RedisUnavailableError from any copy of this package. */
  static override isInstance(error: unknown): error is RedisUnavailableError {
    return EmbeddingError.isInstance(error) && error.code === BACKEND_UNAVAILABLE;
  }
}
