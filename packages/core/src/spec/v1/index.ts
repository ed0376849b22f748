export type { BackendCapabilitiesV1, EmbeddingBackendV1, EmbeddingTableV1 } from './embedding-backend-v1.js';
