import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createOnnxBackend } from './index.js';

describeEmbeddingConformance({ name: 'adapter-onnx', createBackend: () => createOnnxBackend() });
// The conformance tables are small: the suite above runs them on the session holding the table
// (inlineTableMaxBytes) until a write; this one on the session fed the table, as large tables run.
describeEmbeddingConformance({ name: 'adapter-onnx (table fed)', createBackend: () => createOnnxBackend({ inlineTableMaxBytes: 0 }) });

// Quantized storage: the same suite, with tolerances from the declared storage bound (relative
// to each row's max |value|); cases the storage cannot pass by construction skip visibly.
describeEmbeddingConformance({ name: 'adapter-onnx float16', createBackend: () => createOnnxBackend({ storage: 'float16' }) });
describeEmbeddingConformance({ name: 'adapter-onnx int8', createBackend: () => createOnnxBackend({ storage: 'int8' }) });
describeEmbeddingConformance({ name: 'adapter-onnx int4', createBackend: () => createOnnxBackend({ storage: 'int4' }) });
