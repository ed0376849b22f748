import { describeEmbeddingProperties } from '@embedding-layer/conformance/vitest';
import { createTfjsBackend } from './index.js';

describeEmbeddingProperties({ name: 'adapter-tfjs (cpu)', createBackend: () => createTfjsBackend({ backend: 'cpu' }) });
