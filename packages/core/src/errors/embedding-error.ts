const marker = 'embedding-layer.error';
const symbol = Symbol.for(marker);

/** Stable machine-readable codes carried by every {@link EmbeddingError}. Branch on these, never on message text. */
export type EmbeddingErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_INDEX'
  | 'SHAPE_MISMATCH'
  | 'INVALID_WEIGHTS'
  | 'UNSUPPORTED_FEATURE'
  | 'LAYER_DISPOSED'
  | 'BAD_FILE'
  | 'MISSING_PEER'
  | 'LIMIT_EXCEEDED'
  | 'UNSUPPORTED_SPEC_VERSION'
  | 'UNKNOWN_TOKEN'
  /** A backend's store (a Redis node, a remote service) did not answer within its timeout or failed a command. */
  | 'BACKEND_UNAVAILABLE'
  /** The GPU device holding a table was lost (destroyed, reset, driver crash): its rows are gone (adapter-webgpu's `DeviceLostError`). */
  | 'DEVICE_LOST';

/**
 * Base class of every error thrown by embedding-layer packages.
 *
 * Carries a stable {@link EmbeddingError.code} and an optional `cause`. Use
 * {@link EmbeddingError.isInstance} rather than `instanceof`: it also recognises errors
 * created by a second copy of `@embedding-layer/core` in `node_modules`.
 */
export class EmbeddingError extends Error {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: isInstance reads it through Symbol.for, across package copies.
  private readonly [symbol] = true;
  /** Stable code naming the kind of failure. */
  readonly code: EmbeddingErrorCode;

  constructor(code: EmbeddingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmbeddingError';
    this.code = code;
  }

  /** True when `error` is an EmbeddingError from any copy of this package. */
  static isInstance(error: unknown): error is EmbeddingError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[symbol] === true;
  }
}

/** @internal Checks the marker and the code together, for the subclasses' `isInstance`. */
export function hasCode(error: unknown, code: EmbeddingErrorCode): boolean {
  return EmbeddingError.isInstance(error) && error.code === code;
}
