import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createJsBackend } from './index.js';

describeEmbeddingConformance({ name: 'adapter-js', createBackend: () => createJsBackend() });
