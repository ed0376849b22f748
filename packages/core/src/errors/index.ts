export { BadFileError } from './bad-file-error.js';
export { DisposedError } from './disposed-error.js';
export { EmbeddingError, type EmbeddingErrorCode } from './embedding-error.js';
export { InvalidConfigError } from './invalid-config-error.js';
export { InvalidIndexError } from './invalid-index-error.js';
export { InvalidWeightsError } from './invalid-weights-error.js';
export { MissingPeerError } from './missing-peer-error.js';
export { ShapeMismatchError } from './shape-mismatch-error.js';
export { UnsupportedFeatureError } from './unsupported-feature-error.js';
