// @embedding-layer/io: the verbs. Load, save, read, inspect and convert an Embedding in any
// supported file (the format comes from the file), and pretrained word vectors. One reader or
// writer per format, and the Keras/TF.js config dialects, are under `@embedding-layer/io/formats`.
export {
  type ConvertEmbeddingOptions,
  type ConvertResult,
  convertEmbedding,
  type EmbeddingSource,
  type EmbeddingSummary,
  inspectModel,
  type LoadEmbeddingOptions,
  loadEmbedding,
  type ReadEmbeddingOptions,
  type ReadEmbeddingsOptions,
  readEmbedding,
  readEmbeddings,
  type SaveEmbeddingOptions,
  saveEmbedding,
} from './api.js';
export {
  type ConvertWordVectorsOptions,
  type ConvertWordVectorsResult,
  convertWordVectors,
  isWordVectorsPath,
} from './convert-word-vectors.js';
export type { NpyDtype } from './formats/npy.js';
export type { SafetensorsDtype } from './formats/safetensors.js';
export type { TfjsQuantization } from './formats/tfjs.js';
export { Vocabulary, type VocabularyOptions } from './formats/vocabulary.js';
export { type ReadWordVectorsOptions, readWordVectors, type WordVectorFormat, type WordVectors } from './formats/word-vectors.js';
export {
  type EmbeddingData,
  type EmbeddingRecord,
  MODEL_FORMATS,
  type ModelFormat,
  type ProgressCallback,
  type StoredDtype,
} from './types.js';
export { UnknownTokenError } from './unknown-token-error.js';
