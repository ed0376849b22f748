export {
  type EmbeddingConfig,
  type InputLength,
  MAX_INPUT_DIM,
  type ResolvedEmbeddingConfig,
  resolveConfig,
} from './config/embedding-config.js';
export { fromKerasConfig, type KerasEmbeddingLayerConfig, type KerasObjectJson, toKerasConfig } from './config/keras-config.js';
export { applyConstraint } from './constraints/project.js';
export { CONSTRAINTS } from './constraints/registry.js';
export {
  type ApplyGradientsOptions,
  Embedding,
  type EmbeddingCreateOptions,
  type FitCallbacks,
  type FitOptions,
  type History,
  type PredictOptions,
} from './embedding.js';
export * from './errors/index.js';
export { initializeEmbeddings } from './initializers/initialize.js';
export { INITIALIZERS } from './initializers/registry.js';
export { deterministicLog, freshSeed, Xoshiro128 } from './random/prng.js';
export { addRegularizerGradient, regularizerPenalty } from './regularizers/penalty.js';
export { REGULARIZERS } from './regularizers/registry.js';
export type { KerasClassSpec, KerasIdentifier, KerasObject, ParamRule } from './serialization/keras-object.js';
export type { BackendCapabilitiesV1, EmbeddingBackendV1, EmbeddingTableV1 } from './spec/v1/index.js';
export { decodeHalf, decodeInt8, encodeHalf, encodeInt8, halfToFloatTable, quantizeRowInt8, toHalf } from './storage/quantize.js';
export { toIndexTensor, unravelIndex } from './tensor/indices.js';
export { computeMask } from './tensor/mask.js';
export { computeOutputShape, type SymbolicShape } from './tensor/shape.js';
export type { EmbeddingOutput, IndexData, IndexInput, IndexTensor, MaskTensor, NestedIndices } from './tensor/types.js';
export { validateWeights, type WeightReport } from './tensor/validate.js';
export { toWeightArray, type WeightInput } from './tensor/weights.js';
export { embeddingDropoutScales } from './training/dropout.js';
export { LOSSES, type LossIdentifier, lossAndGradient } from './training/losses.js';
export { OPTIMIZERS, type OptimizerIdentifier } from './training/optimizers/registry.js';
export { type SparseGradient, sparseGradient } from './training/sparse-gradient.js';
export type { TargetInput } from './training/targets.js';
export type { CompileOptions } from './training/trainer.js';
