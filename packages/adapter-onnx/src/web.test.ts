import { readFileSync } from 'node:fs';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { describeEmbeddingConformance } from '@embedding-layer/conformance/vitest';
import { Embedding } from '@embedding-layer/core';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { createOnnxBackend } from './onnx-backend.js';
import { createOnnxWebBackend } from './web.js';

// onnxruntime-web also runs in Node (its `node` export, on the same wasm), so the web variant
// passes the whole suite here too; browser/ runs it again in headless Chromium.
describeEmbeddingConformance({ name: 'adapter-onnx/web', createBackend: () => createOnnxWebBackend({ runtime: ort }) });

const CONFIG = { name: 'words', inputDim: 50, outputDim: 8, inputLength: 4, maskZero: true, seed: 3 };
const INPUT = { data: Int32Array.of(0, 1, 49, 7, 3, 3, 0, 12), shape: [2, 4] };

describe('createOnnxWebBackend', () => {
  it('rejects bad options at once with INVALID_CONFIG', () => {
    expect(() => createOnnxWebBackend(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => createOnnxWebBackend({ indexType: 'float' as never })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => createOnnxWebBackend({ executionProviders: [] })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('loads onnxruntime-web by itself and gives the bits and .onnx bytes of the onnxruntime-node backend', async () => {
    const web = await Embedding.create(CONFIG, { backend: createOnnxWebBackend({ indexType: 'int64' }) });
    const node = await Embedding.create(CONFIG, { backend: createOnnxBackend({ indexType: 'int64' }) });
    try {
      expect(web.backend.name).toBe('onnx-web');
      const [a, b] = [await web.predict(INPUT), await node.predict(INPUT)];
      expect(a.shape).toEqual([2, 4, 8]);
      expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)).toEqual(
        Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
      );
      expect(await web.export('onnx')).toEqual(await node.export('onnx'));
    } finally {
      await Promise.all([web.dispose(), node.dispose()]);
    }
  });

  it('float16 and int8 storage give the bits of the onnxruntime-node backend', async () => {
    for (const storage of ['float16', 'int8'] as const) {
      const web = await Embedding.create(CONFIG, { backend: createOnnxWebBackend({ runtime: ort, storage }) });
      const node = await Embedding.create(CONFIG, { backend: createOnnxBackend({ storage }) });
      try {
        const [a, b] = [await web.predict(INPUT), await node.predict(INPUT)];
        expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)).toEqual(
          Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
        );
        expect((await web.getWeights())[0]).toEqual((await node.getWeights())[0]);
      } finally {
        await Promise.all([web.dispose(), node.dispose()]);
      }
    }
    expect(() => createOnnxWebBackend({ storage: 'int4' as never })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('rejects a runtime that is not onnxruntime-web with INVALID_CONFIG naming onnxruntime-web', async () => {
    const error = await Embedding.create(CONFIG, { backend: createOnnxWebBackend({ runtime: {} as never }) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG' });
    expect((error as Error).message).toMatch(/onnxruntime-web module/);
  });

  it('a runtime loader that fails rejects with MISSING_PEER naming onnxruntime-web; the next layer retries the loader', async () => {
    let calls = 0;
    const backend = createOnnxWebBackend({
      runtime: async () => {
        calls++;
        if (calls === 1) throw new Error('not installed (simulated)');
        return ort;
      },
    });
    const error = await Embedding.create(CONFIG, { backend }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MISSING_PEER', peer: 'onnxruntime-web' });
    const layer = await Embedding.create(CONFIG, { backend });
    expect((await layer.predict(INPUT)).shape).toEqual([2, 4, 8]);
    await layer.dispose();
    expect(calls).toBe(2);
  });

  it("float16 on the webgpu EP of a device without 'shader-f16' rejects with INVALID_CONFIG (ORT's f16 shaders would return zeros); with it, or for float32/int8, the layer works", async () => {
    // Node has no WebGPU: onnxruntime-web runs the session on wasm here, and the device the webgpu EP
    // would use is a stand-in with the features under test (the browser test runs the real one).
    const withDevice = (features: string[]) => ({
      InferenceSession: {
        create: (model: Uint8Array, options: ort.InferenceSession.SessionOptions) =>
          ort.InferenceSession.create(model, { ...options, executionProviders: ['wasm'] }),
      },
      Tensor: ort.Tensor,
      env: { webgpu: { device: Promise.resolve({ features: new Set(features) }) } },
    });
    const refused = await Embedding.create(CONFIG, {
      backend: createOnnxWebBackend({ runtime: withDevice(['subgroups']) as never, executionProviders: ['webgpu'], storage: 'float16' }),
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'INVALID_CONFIG' });
    expect((refused as Error).message).toMatch(/storage 'float16'.*'shader-f16'.*its features: subgroups\)/);
    // The reference: adapter-js on the same float16 table (the rows are the table's binary16 values, decoded exactly).
    const js = await Embedding.create(CONFIG, { backend: createJsBackend({ storage: 'float16' }) });
    const expected = await js.predict(INPUT);
    await js.dispose();
    expect(expected.data.some((v) => v !== 0)).toBe(true);
    for (const [features, storage, epName] of [
      [['shader-f16'], 'float16', 'webgpu'],
      [[], 'float32', 'webgpu'],
      [[], 'int8', 'webgpu'],
      [[], 'float16', 'wasm'],
    ] as const) {
      const eps = epName === 'webgpu' ? [{ name: 'webgpu' as const }] : ['wasm'];
      const backend = createOnnxWebBackend({ runtime: withDevice([...features]) as never, executionProviders: eps, storage });
      const layer = await Embedding.create(CONFIG, { backend });
      const out = await layer.predict(INPUT);
      if (storage === 'float16') expect(out.data).toEqual(expected.data);
      else expect(out.shape).toEqual([2, 4, 8]);
      await layer.dispose();
    }
  });

  it("on the webgpu EP a table or a lookup output over the device's binding limit rejects with LIMIT_EXCEEDED (ORT would return zeros); within it the rows are adapter-js's", async () => {
    // Node has no WebGPU: the session runs on wasm, and the device is a stand-in with a 1 KiB binding limit.
    const device = { features: new Set<string>(), limits: { maxStorageBufferBindingSize: 1024, maxBufferSize: 4096 } };
    const runtime = {
      InferenceSession: {
        create: (model: Uint8Array, options: ort.InferenceSession.SessionOptions) =>
          ort.InferenceSession.create(model, { ...options, executionProviders: ['wasm'] }),
      },
      Tensor: ort.Tensor,
      env: { webgpu: { device: Promise.resolve(device) } },
    };
    const onWebgpu = (storage: 'float32' | 'int8') =>
      createOnnxWebBackend({ runtime: runtime as never, executionProviders: ['webgpu'], storage });
    // 40 x 8 float32 = 1280 bytes > 1024; as int8 it is 320 bytes.
    const big = { inputDim: 40, outputDim: 8, seed: 3 };
    const refused = await Embedding.create(big, { backend: onWebgpu('float32') }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'LIMIT_EXCEEDED', what: 'table', requested: 1280, limit: 1024, backend: 'onnx-web' });
    expect((refused as Error).message).toMatch(/maxStorageBufferBindingSize 1024.*adapter-webgpu/);
    const int8 = await Embedding.create(big, { backend: onWebgpu('int8') });
    expect((await int8.predict({ data: Int32Array.of(0, 39), shape: [2] })).shape).toEqual([2, 8]);
    await int8.dispose();
    // 30 x 8 float32 = 960 bytes fits; a lookup of 40 indices (40 x 8 x 4 = 1280 bytes of output) does not.
    const fits = { inputDim: 30, outputDim: 8, seed: 3 };
    const layer = await Embedding.create(fits, { backend: onWebgpu('float32') });
    const js = await Embedding.create(fits, { backend: createJsBackend() });
    try {
      const small = { data: Int32Array.from({ length: 32 }, (_, i) => i % 30), shape: [32] };
      const expected = (await js.predict(small)).data;
      expect(expected.some((v) => v !== 0)).toBe(true);
      expect((await layer.predict(small)).data).toEqual(expected);
      const large = { data: Int32Array.from({ length: 40 }, (_, i) => i % 30), shape: [40] };
      const error = await layer.predict(large).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', what: 'lookup output', requested: 1280, limit: 1024 });
      // The layer still works after the refusal.
      expect((await layer.predict(small)).data).toEqual(expected);
    } finally {
      await Promise.all([layer.dispose(), js.dispose()]);
    }
  });

  it('the built browser entry (dist/web.js) never imports onnxruntime-node, so bundlers leave it out', () => {
    const code = readFileSync(new URL('../dist/web.js', import.meta.url), 'utf8');
    expect(code).not.toMatch(/import\s*\(\s*["']onnxruntime-node["']\s*\)|^\s*import\b[^;]*["']onnxruntime-node["']/m);
    expect(code).toMatch(/import\(\s*["']onnxruntime-web["']\s*\)/);
  });
});

describe('createOnnxWebBackend with shareWeights', () => {
  it("keeps the caller's array as the table: the caller's writes are seen, the layer's writes land in it", async () => {
    const table = new Float32Array(50 * 8);
    for (let i = 0; i < table.length; i++) table[i] = i / 8;
    const layer = await Embedding.create(
      { inputDim: 50, outputDim: 8 },
      { backend: createOnnxWebBackend({ runtime: ort }), weights: [table], shareWeights: true },
    );
    try {
      expect(layer.describe().sharesWeights).toBe(true);
      table.fill(-2, 3 * 8, 4 * 8);
      const out = await layer.predict([[3, 4]]);
      expect(Array.from(out.data)).toEqual([...Array(8).fill(-2), ...Array.from({ length: 8 }, (_, c) => (32 + c) / 8)]);
      await layer.writeRows(9, new Float32Array(8).fill(5));
      expect(Array.from(table.subarray(72, 80))).toEqual(Array(8).fill(5));
      await layer.setWeights([new Float32Array(400).fill(1)]);
      expect(table.every((v) => v === 1)).toBe(true);
      expect((await layer.predict([[9]])).data[0]).toBe(1);
    } finally {
      await layer.dispose();
    }
  });
});
