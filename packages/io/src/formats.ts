// @embedding-layer/io/formats: one reader and writer per file format, and the config dialects.
// Most users want the verbs at the package root (`loadEmbedding`, `saveEmbedding`,
// `readEmbedding`, `convertEmbedding`), which pick the format from the file; these are for
// callers who hold bytes or need one format's options.
export {
  type ConfigDialect,
  findEmbeddingConfigs,
  type Keras3EmbeddingLayerConfig,
  type Keras3ObjectJson,
  keras3DtypePolicy,
  type ReadLayerConfigResult,
  readLayerConfig,
  toKeras2LayerConfig,
  toKeras3LayerConfig,
  toLayerConfig,
  toTfjsLayerConfig,
} from './config/dialects.js';
export { detectFormat, formatForWriting, formatFromExtension } from './detect.js';
export type { ReadOptions } from './formats/common.js';
export { KERAS2_VERSION, keras2SequentialConfig, readKerasH5, type WriteKerasH5Options, writeKerasH5 } from './formats/keras-h5.js';
export {
  KERAS_ZIP_LIMITS,
  KERAS3_VERSION,
  keras3SequentialConfig,
  kerasSnakeCase,
  readKeras3,
  type WriteKeras3Options,
  writeKeras3,
} from './formats/keras-v3.js';
export { decodeNpy, encodeNpy, type NpyDtype, type NpyMatrix, readNpy, type WriteNpyOptions, writeNpy } from './formats/npy.js';
export { readOnnx, type WriteOnnxOptions, writeOnnx } from './formats/onnx.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  SAFETENSORS_CONFIG_KEY_PREFIX,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsTensor,
  type WriteSafetensorsOptions,
  writeSafetensors,
} from './formats/safetensors.js';
export {
  readTfjs,
  type TfjsManifestGroup,
  type TfjsQuantization,
  type TfjsWeightEntry,
  tfjsModelJson,
  type WriteTfjsOptions,
  writeTfjs,
} from './formats/tfjs.js';
export type { EmbeddingData, EmbeddingRecord, ModelFormat, ProgressCallback, StoredDtype } from './types.js';
