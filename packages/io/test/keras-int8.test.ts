import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { resolveConfig } from '@embedding-layer/core';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbedding, readEmbedding, saveEmbedding } from '../src/index.js';
import { dequantizeInt8, quantizeInt8 } from '../src/util/int8.js';
import { prng } from './fuzz/harness.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-int8-');
  await h5wasm.ready;
});
afterAll(() => tmp.cleanup());

/** The error bound of Keras 3's int8 abs-max quantization for one row (see src/util/int8.ts). */
function bound(row: Float32Array, w: number): number {
  let max = 0;
  for (const v of row) max = Math.max(max, Math.abs(v));
  return ((max + 1e-7) / 254) * (1 + 2 ** -20) + 2 ** -24 * Math.abs(w);
}

function randomTable(rows: number, cols: number, seed: number): Float32Array {
  const rand = prng(seed);
  return Float32Array.from({ length: rows * cols }, (_, i) => {
    const scale = 10 ** Math.floor(rand() * 6 - 4); // rows of very different magnitudes
    return Math.fround((rand() * 2 - 1) * scale * (1 + (i % cols === 0 ? 1 : 0)));
  });
}

describe("Keras 3's int8 Embedding layout", () => {
  it('quantizes as AbsMaxQuantizer: scale = 127 / (max|row| + 1e-7), round half to even, clip to [-127, 127]', () => {
    const w = Float32Array.from([0.5, -1, 0.25, 0, 0.002, 0.001, -0.0005, 0.003, 0, 0, 0, 0]);
    const { values, scales } = quantizeInt8(w, 3, 4);
    expect(scales[0]).toBe(Math.fround(127 / Math.fround(1 + Math.fround(1e-7))));
    expect(Array.from(values.subarray(0, 4))).toEqual([63, -127, 32, 0]); // 63.4999937 -> 63; 31.7499968 -> 32
    expect(values[7]).toBe(127);
    expect(Array.from(values.subarray(8))).toEqual([0, 0, 0, 0]); // all-zero row: scale 127/1e-7, no NaN
    expect(Array.from(dequantizeInt8(values, scales, 3, 4).subarray(8))).toEqual([0, 0, 0, 0]);
  });

  it('the error bound |w - q/scale| <= (max|row| + 1e-7)/254 holds on 200 x 64 random rows of mixed magnitude', () => {
    for (const seed of [1, 2, 3]) {
      const rows = 200;
      const cols = 64;
      const w = randomTable(rows, cols, seed);
      const { values, scales } = quantizeInt8(w, rows, cols);
      const back = dequantizeInt8(values, scales, rows, cols);
      let worst = 0;
      for (let r = 0; r < rows; r++) {
        const row = w.subarray(r * cols, (r + 1) * cols);
        for (let c = 0; c < cols; c++) {
          const err = Math.abs(back[r * cols + c]! - row[c]!);
          const b = bound(row, row[c]!);
          worst = Math.max(worst, err / b);
          if (err > b) throw new Error(`seed ${seed}: row ${r} col ${c}: error ${err} over the bound ${b}`);
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
      expect(worst).toBeGreaterThan(0.5); // the bound is tight, not vacuous
    }
  });

  it("writes Keras 3's layout (int8 vars/0, float32 vars/1 of shape (input_dim,), int8_from_float32 policy) and reads it back within the bound", async () => {
    const config = resolveConfig({ inputDim: 50, outputDim: 16, name: 'tokens', maskZero: true });
    const weights = randomTable(50, 16, 7);
    const path = join(tmp.dir, 'q.keras');
    await saveEmbedding(path, { config, weights }, { kerasQuantize: 'int8' });
    const members = unzipSync(new Uint8Array(await readFile(path)));
    const layer = JSON.parse(strFromU8(members['config.json']!)).config.layers[1];
    // As keras/src/dtype_policies/dtype_policy.py's QuantizedDTypePolicy.get_config() writes it
    // (from_config is cls(**config): a `name` key is refused by its __init__(mode, source_name)).
    expect(layer.config.dtype).toEqual({
      module: 'keras',
      class_name: 'QuantizedDTypePolicy',
      config: { mode: 'int8', source_name: 'float32' },
      registered_name: null,
    });
    expect(layer.config.quantization_config).toBeNull();
    const h5path = join(tmp.dir, 'q.weights.h5');
    await writeFile(h5path, members['model.weights.h5']!);
    const f = new h5wasm.File(h5path, 'r');
    const q = f.get('layers/embedding/vars/0') as import('h5wasm').Dataset;
    const s = f.get('layers/embedding/vars/1') as import('h5wasm').Dataset;
    expect(q.shape).toEqual([50, 16]);
    expect(q.metadata.type).toBe(0); // integer
    expect(q.metadata.size).toBe(1);
    expect(q.metadata.signed).toBe(true);
    expect(s.shape).toEqual([50]);
    expect(s.dtype).toBe('<f');
    const expected = quantizeInt8(weights, 50, 16);
    expect(Array.from(q.value as Int8Array)).toEqual(Array.from(expected.values));
    expect(Array.from(s.value as Float32Array)).toEqual(Array.from(expected.scales));
    f.close();

    const record = await readEmbedding(path);
    expect(record.storedDtype).toBe('int8');
    expect(record.config.maskZero).toBe(true);
    expect(record.notes.join(' ')).toMatch(/int8_from_float32/);
    expect(Array.from(record.weights)).toEqual(Array.from(dequantizeInt8(expected.values, expected.scales, 50, 16)));
    for (let i = 0; i < weights.length; i++) {
      const r = Math.floor(i / 16);
      expect(Math.abs(record.weights[i]! - weights[i]!)).toBeLessThanOrEqual(bound(weights.subarray(r * 16, r * 16 + 16), weights[i]!));
    }
    const loaded = await loadEmbedding(path, { backend: createJsBackend() });
    expect(Array.from((await loaded.getWeights())[0]!)).toEqual(Array.from(record.weights));
  });

  it('reads a file written in Keras 3 layout by hand (layer named by the vars group, non-null quantization_config normalized)', async () => {
    const h5path = join(tmp.dir, 'hand.weights.h5');
    const f = new h5wasm.File(h5path, 'w');
    const vars = f.create_group('layers').create_group('embedding').create_group('vars');
    vars.create_attribute('name', 'emb');
    vars.create_dataset({ name: '0', data: Int8Array.from([127, -127, 64, 0, 1, -1]), shape: [3, 2], dtype: '<b' });
    vars.create_dataset({ name: '1', data: Float32Array.from([127, 63.5, 2]), shape: [3], dtype: '<f' });
    f.create_group('vars');
    f.close();
    const layer = {
      module: 'keras.layers',
      class_name: 'Embedding',
      config: {
        name: 'emb',
        trainable: true,
        dtype: {
          module: 'keras',
          class_name: 'QuantizedDTypePolicy',
          config: { name: 'int8_from_float32', source_name: 'float32' },
          registered_name: null,
        },
        input_dim: 3,
        output_dim: 2,
        embeddings_initializer: {
          module: 'keras.initializers',
          class_name: 'RandomUniform',
          config: { seed: null, minval: -0.05, maxval: 0.05 },
          registered_name: null,
        },
        embeddings_regularizer: null,
        activity_regularizer: null,
        embeddings_constraint: null,
        mask_zero: false,
        quantization_config: { module: 'keras.quantizers', class_name: 'Int8QuantizationConfig', config: {}, registered_name: null },
      },
      registered_name: null,
    };
    const model = { module: 'keras', class_name: 'Sequential', config: { name: 'sequential', layers: [layer] }, registered_name: null };
    const zip = zipSync(
      { 'config.json': strToU8(JSON.stringify(model)), 'model.weights.h5': new Uint8Array(await readFile(h5path)) },
      { level: 0 },
    );
    const path = join(tmp.dir, 'hand.keras');
    await writeFile(path, zip);
    const record = await readEmbedding(path);
    expect(Array.from(record.weights)).toEqual([1, -1, Math.fround(64 / 63.5), 0, 0.5, -0.5]);
    expect(record.notes.join(' ')).toMatch(/quantization_config "Int8QuantizationConfig" dropped/);
    expect(record.config.inputDim).toBe(3);
  });
});
