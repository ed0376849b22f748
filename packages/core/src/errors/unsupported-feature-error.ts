import { EmbeddingError, hasCode } from './embedding-error.js';

/**
 * The backend does not declare the capability a call needs (for example `training`).
 * Code `UNSUPPORTED_FEATURE`.
 */
export class UnsupportedFeatureError extends EmbeddingError {
  /** The capability that is missing, as named in the backend's `supports` manifest. */
  readonly feature: string;
  /** The backend's name. */
  readonly backend: string;

  constructor(feature: string, backend: string, detail?: string) {
    super(
      'UNSUPPORTED_FEATURE',
      `The "${backend}" backend does not support ${feature}${detail ? `: ${detail}` : ''}. ` +
        `Use a backend whose supports.${feature} is true.`,
    );
    this.name = 'UnsupportedFeatureError';
    this.feature = feature;
    this.backend = backend;
  }

  /** True when `error` is an UnsupportedFeatureError from any copy of this package. */
  static override isInstance(error: unknown): error is UnsupportedFeatureError {
    return hasCode(error, 'UNSUPPORTED_FEATURE');
  }
}
