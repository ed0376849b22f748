import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import type { EmbeddingBackendV2 } from '@embedding-layer/core';
import { readAllRows } from '@embedding-layer/core/backend';
import { createOnnxBackend, type OnnxNative } from './index.js';

describeEmbeddingConformance({ name: 'adapter-onnx', createBackend: () => createOnnxBackend() });
// The conformance tables are small: the suite above runs them on the session holding the table
// (inlineTableMaxBytes) until a write; this one on the session fed the table, as large tables run.
describeEmbeddingConformance({ name: 'adapter-onnx (table fed)', createBackend: () => createOnnxBackend({ inlineTableMaxBytes: 0 }) });

// Quantized storage: the same suite, with tolerances from the declared storage bound (relative
// to each row's max |value|); cases the storage cannot pass by construction skip visibly.
describeEmbeddingConformance({ name: 'adapter-onnx float16', createBackend: () => createOnnxBackend({ storage: 'float16' }) });
describeEmbeddingConformance({ name: 'adapter-onnx int8', createBackend: () => createOnnxBackend({ storage: 'int8' }) });
describeEmbeddingConformance({ name: 'adapter-onnx int4', createBackend: () => createOnnxBackend({ storage: 'int4' }) });

// Shared tables: every table is created as if its caller had shared its array
// (`shareWeights: true`, RowSource.shared): here a fresh copy of the initial rows, so the
// suite's own arrays stay untouched. Runs the shared path: no inline session, writes in place
// once runs in flight settle, setWeights copied into the array at commit.
function sharingBackend(): EmbeddingBackendV2<OnnxNative> {
  const inner = createOnnxBackend();
  return {
    ...inner,
    doCreateTable: async (config, initial) => inner.doCreateTable(config, { ...initial, shared: await readAllRows(initial) }),
  };
}
describeEmbeddingConformance({ name: 'adapter-onnx (shared table)', createBackend: sharingBackend });
