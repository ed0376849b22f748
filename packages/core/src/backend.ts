// @embedding-layer/core/backend: for adapter authors. defineBackend and its helpers, the
// validation core applies (so an adapter's own entry points give core's errors), the storage
// codec and its bounds, the Keras / TF.js config dialects, and the numerics (initializers,
// regularizers, constraints, losses) behind the layer, and the WebAssembly row-gather kernel
// (adapter-js and adapter-tfjs gather from a table in its memory).
export { type BackendDefinition, defineBackend } from './backend/define-backend.js';
export { MALLOC_PRIMER_BYTES, raiseMallocThresholds } from './backend/malloc-thresholds.js';
export { checkBackendOptions, type OptionRule, optionError } from './backend/options.js';
export { type LazyPeerOptions, lazyPeer } from './backend/peer.js';
export {
  type ConfigDialect,
  findEmbeddingConfigs,
  type Keras3EmbeddingLayerConfig,
  type Keras3Module,
  type NormalizedLayerConfig,
  normalizeKerasLayerConfig,
  toKeras2LayerConfig,
  toKeras3LayerConfig,
  toKeras3ObjectJson,
  toLayerConfig,
  toTfjsLayerConfig,
} from './config/dialects.js';
export { dtypePolicyName, FLOAT_POLICIES, keras3DtypePolicy, QUANTIZED_POLICY } from './config/dtype-policy.js';
export type { EmbeddingConfig, InputLength, ResolvedEmbeddingConfig } from './config/embedding-config.js';
export {
  fromKerasConfig,
  type Keras3ObjectJson,
  type KerasEmbeddingLayerConfig,
  type KerasObjectJson,
  PYTORCH_CONFIG_KEYS,
  toKerasConfig,
} from './config/keras-config.js';
export { resolveConstraint, resolveInitializer, resolveRegularizer } from './config/objects.js';
export { KERAS_TO_TFJS_CLASS_NAMES, kerasClassName, tfjsClassName, toTfjsObjectJson } from './config/tfjs-class-names.js';
export { addColumnSquares, applyConstraint, applyConstraintRows, columnScales, constraintPerColumn } from './constraints/project.js';
export { CONSTRAINTS } from './constraints/registry.js';
export { DESCRIBE_VALUE_LIMIT, describeValue } from './errors/describe-value.js';
export {
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
export { type InitializerStream, initializeEmbeddings, initializerStream } from './initializers/initialize.js';
export { INITIALIZERS } from './initializers/registry.js';
export {
  type ArenaState,
  createWasmRows,
  gatherChunks,
  idsFor,
  MAX_WASM_BYTES,
  type MemoryLayout,
  type MemoryViews,
  memoryLayout,
  scratchFor,
  type WasmRows,
  type WasmRowsOptions,
} from './kernel/gather.js';
export { instantiateKernel, type KernelExports, kernelModule } from './kernel/kernel.js';
export { deterministicLog, freshSeed, Xoshiro128 } from './random/prng.js';
export { addRegularizerGradient, regularizerPenalty } from './regularizers/penalty.js';
export { REGULARIZERS } from './regularizers/registry.js';
export type { KerasClassSpec, KerasIdentifier, KerasObject, ParamRule } from './serialization/keras-object.js';
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
export { SPECIFICATION_VERSIONS } from './spec/index.js';
export { CAPABILITY_KEYS, checkManifest, DEFAULT_CAPABILITIES } from './spec/manifest.js';
export { STORAGE, type StorageBound, type StorageCapability, type StorageDtype } from './storage/capabilities.js';
export {
  decodeHalf,
  decodeInt4,
  decodeInt8,
  encodeHalf,
  encodeInt4,
  encodeInt8,
  halfToFloatTable,
  INT8_EPSILON,
  int4At,
  int4RowBytes,
  packInt4Row,
  quantizeRowInt4,
  quantizeRowInt8,
  toHalf,
} from './storage/quantize.js';
export { indexCount, toIndexTensor, unravelIndex } from './tensor/indices.js';
export { CHUNK_BYTES, chunkRowsFor, MAX_ARRAY_LENGTH } from './tensor/limits.js';
export { computeMask } from './tensor/mask.js';
export { checkNativeIndices } from './tensor/native.js';
export { copySourceRows, readAllRows, rowSource } from './tensor/rows.js';
export { computeOutputShape, type SymbolicShape } from './tensor/shape.js';
export type { EmbeddingOutput, IndexData, IndexInput, IndexTensor, MaskTensor, NestedIndices } from './tensor/types.js';
export { validateWeights, type WeightReport } from './tensor/validate.js';
export { toWeightArray, type WeightInput } from './tensor/weights.js';
export { embeddingDropoutScales } from './training/dropout.js';
export { LOSSES, lossAndGradient } from './training/losses.js';
export { OPTIMIZERS } from './training/optimizers/registry.js';
export { type SparseGradient, type SparseGradientOptions, sparseGradient } from './training/sparse-gradient.js';
