// Where WebAssembly is unavailable (some locked-down browsers and runtimes), the default
// backend falls back to plain JS and still passes the full conformance suite. This file runs
// in its own module graph (vitest isolates files), with WebAssembly removed before the
// package loads.
import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { Embedding } from '@embedding-layer/core';
import { afterAll, describe, expect, it } from 'vitest';

const globals = globalThis as { WebAssembly?: unknown };
const saved = globals.WebAssembly;
delete globals.WebAssembly;
const { createJsBackend } = await import('./index.js');
// The package caches that the kernel is unavailable; restore the global for whatever runs next in this process.
afterAll(() => {
  globals.WebAssembly = saved;
});

describe('without WebAssembly', () => {
  it('the default backend falls back to plain JS; kernel "wasm" says why it cannot run', async () => {
    const layer = await Embedding.create({ inputDim: 10, outputDim: 4 }, { backend: createJsBackend() });
    expect(layer.describe().path).toBe('js');
    await expect(Embedding.create({ inputDim: 10, outputDim: 4 }, { backend: createJsBackend({ kernel: 'wasm' }) })).rejects.toThrow(
      /WebAssembly .* is unavailable/,
    );
  });
});

describeEmbeddingConformance({ name: 'adapter-js without WebAssembly', createBackend: () => createJsBackend() });
