// @embedding-layer/core: what users of the layer need. What adapter authors need (validation
// helpers, the codec, defineBackend...) is under `@embedding-layer/core/backend`.
export type { EmbeddingBagConfig, ResolvedEmbeddingBagConfig } from './config/embedding-bag-config.js';
export {
  type EmbeddingConfig,
  type InputLength,
  MAX_INPUT_DIM,
  type ResolvedEmbeddingConfig,
  resolveConfig,
} from './config/embedding-config.js';
export {
  fromKerasConfig,
  type KerasEmbeddingLayerConfig,
  type KerasObjectJson,
  PYTORCH_CONFIG_KEYS,
  toKerasConfig,
} from './config/keras-config.js';
export { resolveConstraint, resolveInitializer, resolveRegularizer } from './config/objects.js';
export {
  type ApplyGradientsOptions,
  Embedding,
  type EmbeddingCreateOptions,
  type FromPretrainedOptions,
  type PredictOptions,
  type PretrainedWeights,
  type QuantizationMode,
} from './embedding.js';
export {
  type BagApplyGradientsOptions,
  type BagFitOptions,
  type BagFromPretrainedOptions,
  type BagOptions,
  EmbeddingBag,
} from './embedding-bag.js';
export {
  BadFileError,
  DisposedError,
  EmbeddingError,
  type EmbeddingErrorCode,
  InvalidConfigError,
  InvalidIndexError,
  InvalidWeightsError,
  LimitExceededError,
  MissingPeerError,
  ShapeMismatchError,
  SpecVersionError,
  UnsupportedFeatureError,
} from './errors/index.js';
export type { EnableLoraOptions } from './lora.js';
export type { KerasIdentifier, KerasObject } from './serialization/keras-object.js';
export type {
  BackendCapabilitiesV1,
  BackendCapabilitiesV2,
  EmbeddingBackend,
  EmbeddingBackendV1,
  EmbeddingBackendV2,
  EmbeddingTableV1,
  EmbeddingTableV2,
  MaybePromise,
  NativeIndexView,
  NativeTensorsV2,
  NativeTypes,
  OptimizerSupportV2,
  RowSource,
  TableDescription,
  TableReplacementV2,
} from './spec/index.js';
export type { StorageBound, StorageCapability, StorageDtype } from './storage/capabilities.js';
export type { BagMode, OffsetsInput, PerSampleWeightsInput } from './tensor/bags.js';
export type { SymbolicShape } from './tensor/shape.js';
export type { EmbeddingOutput, IndexData, IndexInput, IndexTensor, MaskTensor, NestedIndices } from './tensor/types.js';
export type { WeightReport } from './tensor/validate.js';
export type { WeightInput } from './tensor/weights.js';
export type { FitCallbacks, FitOptions, History } from './training/fit.js';
export type { LossIdentifier } from './training/losses.js';
export { appliedOptimizer, type OptimizerIdentifier } from './training/optimizers/registry.js';
export type { TargetInput } from './training/targets.js';
export type { CompileOptions } from './training/trainer.js';
