export type {
  BackendCapabilitiesV2,
  EmbeddingBackendV2,
  EmbeddingTableV2,
  MaybePromise,
  NativeIndexView,
  NativeTensorsV2,
  NativeTypes,
  OptimizerSupportV2,
  RowSource,
  TableDescription,
  TableReplacementV2,
} from './embedding-backend-v2.js';
