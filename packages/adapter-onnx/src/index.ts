export {
  type BuildEmbeddingModelOptions,
  buildEmbeddingModel,
  defaultInputShape,
  type ExternalDataOptions,
  ONNX_NAMES,
  type OnnxIndexType,
} from './model/build-embedding-model.js';
export { tableBytes } from './model/little-endian.js';
export { DEFAULT_EXTERNAL_DATA_THRESHOLD, ONNX_IR_VERSION, ONNX_OPSET_VERSION, PROTOBUF_LIMIT_BYTES } from './model/versions.js';
