// @embedding-layer/onnx-model: the Embedding as an ONNX model, built in TypeScript with no
// runtime. @embedding-layer/adapter-onnx runs what it builds; @embedding-layer/io writes it to
// .onnx files without loading any backend.
export {
  type BuildEmbeddingModelOptions,
  buildEmbeddingModel,
  type Dim,
  defaultInputShape,
  type ExternalDataOptions,
  ONNX_NAMES,
  type OnnxIndexType,
} from './build-embedding-model.js';
export { tableBytes } from './little-endian.js';
export type { OnnxStorage } from './quantize.js';
export { DEFAULT_EXTERNAL_DATA_THRESHOLD, ONNX_IR_VERSION, ONNX_OPSET_VERSION, PROTOBUF_LIMIT_BYTES } from './versions.js';
