export type { OnnxStorage } from '@embedding-layer/onnx-model';
export {
  type BuildEmbeddingModelOptions,
  buildEmbeddingModel,
  DEFAULT_EXTERNAL_DATA_THRESHOLD,
  type Dim,
  defaultInputShape,
  type ExternalDataOptions,
  ONNX_IR_VERSION,
  ONNX_NAMES,
  ONNX_OPSET_VERSION,
  type OnnxIndexType,
  PROTOBUF_LIMIT_BYTES,
  tableBytes,
} from '@embedding-layer/onnx-model';
export {
  type BagModelConfig,
  type BagToOnnxOptions,
  bagToOnnx,
  buildEmbeddingBagModel,
  ONNX_BAG_NAMES,
} from './export/bag-to-onnx.js';
export { type ToOnnxOptions, toOnnx } from './export/to-onnx.js';
export { type WriteOnnxFileOptions, type WrittenOnnxFile, writeOnnxFile } from './export/write-onnx-file.js';
export {
  createOnnxBackend,
  DEFAULT_INLINE_TABLE_MAX_BYTES,
  type OnnxBackendOptions,
  type OnnxExecutionProviders,
  type OnnxNative,
  ORT_TENSOR_KIND,
  type OrtLookupResult,
} from './onnx-backend.js';
export { type PredictTensorOptions, predictTensor } from './predict-tensor.js';
export { loadOnnxRuntime, type OnnxRuntime, type OnnxRuntimeSource } from './runtime/load-runtime.js';
