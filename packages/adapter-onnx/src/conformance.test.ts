import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { createOnnxBackend } from './index.js';

describeEmbeddingConformance({ name: 'adapter-onnx', createBackend: () => createOnnxBackend() });
