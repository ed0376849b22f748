import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createJsBackend } from './index.js';

// The full suite on every code path of the float32 backend; each must be bit-identical.
describeEmbeddingConformance({ name: 'adapter-js (default)', createBackend: () => createJsBackend() });
describeEmbeddingConformance({ name: 'adapter-js wasm kernel', createBackend: () => createJsBackend({ kernel: 'wasm', workers: 0 }) });
describeEmbeddingConformance({ name: 'adapter-js JS fallback', createBackend: () => createJsBackend({ kernel: 'js' }) });
describeEmbeddingConformance({
  name: 'adapter-js workers',
  createBackend: () => createJsBackend({ kernel: 'wasm', workers: 1, workerThreshold: 0 }),
});
describeEmbeddingConformance({ name: 'adapter-js sharded (4 kB shards)', createBackend: () => createJsBackend({ shardBytes: 4096 }) });
describeEmbeddingConformance({ name: 'adapter-js sharded (1-row shards)', createBackend: () => createJsBackend({ shardBytes: 1 }) });
