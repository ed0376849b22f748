import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createTfjsBackend } from './index.js';

// The standard path on the cpu backend: tf.gather and tensorScatterUpdate instead of this package's row copy.
describeEmbeddingConformance({
  name: 'adapter-tfjs (cpu, fastPath: false)',
  createBackend: () => createTfjsBackend({ backend: 'cpu', fastPath: false }),
});
