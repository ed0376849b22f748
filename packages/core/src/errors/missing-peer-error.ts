import { EmbeddingError, hasCode } from './embedding-error.js';

/** An adapter's runtime peer (`@tensorflow/tfjs`, `onnxruntime-node`...) could not be loaded. Code `MISSING_PEER`. */
export class MissingPeerError extends EmbeddingError {
  /** The npm package that is missing. */
  readonly peer: string;

  constructor(peer: string, options?: { cause?: unknown }) {
    super(
      'MISSING_PEER',
      `Could not load "${peer}". Install it (npm install ${peer}) or pass the module as the \`runtime\` option.`,
      options,
    );
    this.name = 'MissingPeerError';
    this.peer = peer;
  }

  /** True when `error` is a MissingPeerError from any copy of this package. */
  static override isInstance(error: unknown): error is MissingPeerError {
    return hasCode(error, 'MISSING_PEER');
  }
}
