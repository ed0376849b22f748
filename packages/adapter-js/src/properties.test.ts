import { describeEmbeddingProperties } from '@embedding-layer/conformance/vitest';
import { createJsBackend } from './index.js';

describeEmbeddingProperties({ name: 'adapter-js', createBackend: () => createJsBackend() });
