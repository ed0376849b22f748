import type { EmbeddingBackendV1 } from './v1/embedding-backend-v1.js';
import type { EmbeddingBackendV2, NativeTypes } from './v2/embedding-backend-v2.js';

export type { BackendCapabilitiesV1, EmbeddingBackendV1, EmbeddingTableV1 } from './v1/index.js';
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
} from './v2/index.js';

/** Any backend core accepts: the current specification (v2) or the previous one (v1, still accepted). */
export type EmbeddingBackend<N extends NativeTypes = NativeTypes> = EmbeddingBackendV2<N> | EmbeddingBackendV1;

/** The specification versions this core accepts. */
export const SPECIFICATION_VERSIONS: readonly string[] = Object.freeze(['v2', 'v1']);
