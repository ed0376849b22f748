export { type ToOnnxOptions, toOnnx } from './export/to-onnx.js';
export { type WriteOnnxFileOptions, type WrittenOnnxFile, writeOnnxFile } from './export/write-onnx-file.js';
export {
  type BuildEmbeddingModelOptions,
  buildEmbeddingModel,
  type Dim,
  defaultInputShape,
  type ExternalDataOptions,
  ONNX_NAMES,
  type OnnxIndexType,
} from './model/build-embedding-model.js';
export { tableBytes } from './model/little-endian.js';
export type { OnnxStorage } from './model/quantize.js';
export { DEFAULT_EXTERNAL_DATA_THRESHOLD, ONNX_IR_VERSION, ONNX_OPSET_VERSION, PROTOBUF_LIMIT_BYTES } from './model/versions.js';
export {
  createOnnxBackend,
  type OnnxBackendOptions,
  type OnnxExecutionProviders,
  type OnnxNative,
  ORT_TENSOR_KIND,
  type OrtLookupResult,
} from './onnx-backend.js';
export { type PredictTensorOptions, predictTensor } from './predict-tensor.js';
export { loadOnnxRuntime, type OnnxRuntime, type OnnxRuntimeSource } from './runtime/load-runtime.js';
