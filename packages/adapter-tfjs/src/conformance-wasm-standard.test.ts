import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createTfjsBackend } from './index.js';

// The standard path on the wasm backend: tf.gather and TF.js's own ops instead of this package's row copy over the wasm heap.
describeEmbeddingConformance({
  name: 'adapter-tfjs (wasm, fastPath: false)',
  createBackend: () => createTfjsBackend({ backend: 'wasm', fastPath: false }),
});
