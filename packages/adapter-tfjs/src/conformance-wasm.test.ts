import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createTfjsBackend } from './index.js';

// TF.js's active backend is process-wide state: vitest's default forks pool runs this file in its own process.
describeEmbeddingConformance({ name: 'adapter-tfjs (wasm)', createBackend: () => createTfjsBackend({ backend: 'wasm' }) });
