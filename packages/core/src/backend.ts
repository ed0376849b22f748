// @embedding-layer/core/backend: for adapter authors. defineBackend and its helpers, the
// validation core applies (so an adapter's own entry points give core's errors), the storage
// codec and its bounds, and the numerics (initializers, regularizers, constraints, losses)
// behind the layer.
export { type BackendDefinition, defineBackend } from './backend/define-backend.js';
export { checkBackendOptions, type OptionRule, optionError } from './backend/options.js';
export { type LazyPeerOptions, lazyPeer } from './backend/peer.js';
export { applyConstraint } from './constraints/project.js';
export { CONSTRAINTS } from './constraints/registry.js';
export { DESCRIBE_VALUE_LIMIT, describeValue } from './errors/describe-value.js';
export { type InitializerStream, initializeEmbeddings, initializerStream } from './initializers/initialize.js';
export { INITIALIZERS } from './initializers/registry.js';
export { deterministicLog, freshSeed, Xoshiro128 } from './random/prng.js';
export { addRegularizerGradient, regularizerPenalty } from './regularizers/penalty.js';
export { REGULARIZERS } from './regularizers/registry.js';
export type { KerasClassSpec, ParamRule } from './serialization/keras-object.js';
export { SPECIFICATION_VERSIONS } from './spec/index.js';
export { CAPABILITY_KEYS, checkManifest, DEFAULT_CAPABILITIES } from './spec/manifest.js';
export { STORAGE } from './storage/capabilities.js';
export {
  decodeHalf,
  decodeInt8,
  encodeHalf,
  encodeInt8,
  halfToFloatTable,
  INT8_EPSILON,
  quantizeRowInt8,
  toHalf,
} from './storage/quantize.js';
export { indexCount, toIndexTensor, unravelIndex } from './tensor/indices.js';
export { CHUNK_BYTES, chunkRowsFor, MAX_ARRAY_LENGTH } from './tensor/limits.js';
export { computeMask } from './tensor/mask.js';
export { checkNativeIndices } from './tensor/native.js';
export { readAllRows, rowSource } from './tensor/rows.js';
export { computeOutputShape } from './tensor/shape.js';
export { validateWeights } from './tensor/validate.js';
export { toWeightArray } from './tensor/weights.js';
export { embeddingDropoutScales } from './training/dropout.js';
export { LOSSES, lossAndGradient } from './training/losses.js';
export { OPTIMIZERS } from './training/optimizers/registry.js';
export { type SparseGradient, sparseGradient } from './training/sparse-gradient.js';
