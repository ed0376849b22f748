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

// Quantized storage: the same suite, with tolerances from the declared storage bound (relative
// to each row's max |value|); cases the storage cannot pass by construction skip visibly.
describeEmbeddingConformance({ name: 'adapter-js float16', createBackend: () => createJsBackend({ storage: 'float16' }) });
describeEmbeddingConformance({ name: 'adapter-js int8', createBackend: () => createJsBackend({ storage: 'int8' }) });
describeEmbeddingConformance({
  name: 'adapter-js int8 sharded',
  createBackend: () => createJsBackend({ storage: 'int8', shardBytes: 64 }),
});
describeEmbeddingConformance({ name: 'adapter-js int4', createBackend: () => createJsBackend({ storage: 'int4' }) });
describeEmbeddingConformance({
  name: 'adapter-js int4 sharded',
  createBackend: () => createJsBackend({ storage: 'int4', shardBytes: 7 }),
});
