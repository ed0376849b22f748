import { Embedding, resolveConfig } from '@embedding-layer/core';
import { describe, expect, it, vi } from 'vitest';

// onnxruntime-node made unloadable: importing the package and building models must still
// work (the io package relies on it), and creating a layer must fail with MissingPeerError.
vi.mock('onnxruntime-node', () => {
  throw new Error('onnxruntime-node is not installed (simulated)');
});

describe('without onnxruntime-node', () => {
  it('the package loads and buildEmbeddingModel works; a layer rejects with MISSING_PEER naming the `runtime` option', async () => {
    const { buildEmbeddingModel, createOnnxBackend } = await import('./index.js');
    const bytes = buildEmbeddingModel(resolveConfig({ inputDim: 3, outputDim: 2 }), new Float32Array(6));
    expect(bytes.byteLength).toBeGreaterThan(0);
    const backend = createOnnxBackend();
    const error = await Embedding.create({ inputDim: 3, outputDim: 2 }, { backend }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MISSING_PEER', peer: 'onnxruntime-node' });
    expect((error as Error).message).toMatch(/install.*`runtime`/i);
    // The cause is the failed import (vitest wraps the simulated error).
    expect(String((error as Error).cause)).toMatch(/simulated|mocking a module/);
  });
});
