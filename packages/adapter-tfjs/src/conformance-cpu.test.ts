import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createTfjsBackend } from './index.js';

describeEmbeddingConformance({ name: 'adapter-tfjs (cpu)', createBackend: () => createTfjsBackend({ backend: 'cpu' }) });
