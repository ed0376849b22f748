import { describeEmbeddingProperties } from '@embedding-layer/conformance/vitest';
import { createOnnxBackend } from './index.js';

describeEmbeddingProperties({ name: 'adapter-onnx', createBackend: () => createOnnxBackend() });
