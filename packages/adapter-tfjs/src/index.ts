export { quietTfjsBanner } from './banner.js';
export { compileKeras, KERAS_LOSS_NAMES, toTfjsLoss } from './compile.js';
export {
  EMBEDDING_LAYER_CLASS_NAME,
  type EmbeddingLayer,
  type EmbeddingLayerArgs,
  type EmbeddingLayerClass,
  registerEmbeddingLayer,
} from './embedding-layer.js';
export { EMBEDDING_GATHER_KERNEL } from './fast-gather.js';
export type { TfjsRuntime } from './runtime.js';
export { computeMaskTensor, lookupTensor } from './tensor-lookup.js';
export { createTfjsBackend, TFJS_TENSOR_KIND, type TfjsBackendName, type TfjsBackendOptions } from './tfjs-backend.js';
export type { TfjsNative } from './tfjs-table.js';
