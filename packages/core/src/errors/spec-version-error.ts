import { EmbeddingError, hasCode } from './embedding-error.js';

/**
 * A backend implements a version of the backend specification this core does not know (for
 * example an adapter built for a newer core). Code `UNSUPPORTED_SPEC_VERSION`.
 */
export class SpecVersionError extends EmbeddingError {
  /** The backend's `specificationVersion`, as received. */
  readonly received: unknown;
  /** The versions this core accepts. */
  readonly supported: readonly string[];

  constructor(backend: string, received: string, supported: readonly string[]) {
    super(
      'UNSUPPORTED_SPEC_VERSION',
      `Backend ${backend} implements specification ${received}; this @embedding-layer/core supports ${supported
        .map((v) => JSON.stringify(v))
        .join(', ')}. Install versions of the adapter and of core that agree.`,
    );
    this.name = 'SpecVersionError';
    this.received = received;
    this.supported = supported;
  }

  /** True when `error` is a SpecVersionError from any copy of this package. */
  static override isInstance(error: unknown): error is SpecVersionError {
    return hasCode(error, 'UNSUPPORTED_SPEC_VERSION');
  }
}
