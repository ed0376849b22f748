import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding, resolveConfig } from '@embedding-layer/core';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbedding, readEmbedding, saveEmbedding } from '../src/index.js';
import { makeTempDir } from './tmp.js';

/** conformance/scripts/make_keras3_fixtures.py: Keras 3's formulas in NumPy, and the int4 .keras it wrote with h5py. */
const FIXTURE = JSON.parse(await readFile(new URL('../../../conformance/fixtures/keras3.json', import.meta.url), 'utf8')) as {
  int4: { id: string; inputDim: number; outputDim: number; weights: string[]; packed: number[]; scales: string[]; dequantized: string[] }[];
  int4Grouped: { id: string; inputDim: number; outputDim: number; dequantized: string[] }[];
  lora: {
    id: string;
    inputDim: number;
    outputDim: number;
    rank: number;
    alpha: number;
    weights: number[];
    loraA: number[];
    loraB: number[];
    merged: string[];
  }[];
};
const KERAS_FILE = new URL('./fixtures/keras3/int4.keras', import.meta.url);
const GROUPED_FILE = new URL('./fixtures/keras3/int4-grouped.keras', import.meta.url);
const fromHex = (hex: readonly string[]) => new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-int4-');
  await h5wasm.ready;
});
afterAll(() => tmp.cleanup());

/** The datasets of a .keras file's model.weights.h5, through h5wasm (an independent HDF5 reader). */
async function weightsOf(path: string, names: string[]) {
  const members = unzipSync(new Uint8Array(await readFile(path)));
  const h5path = join(tmp.dir, `${Math.random().toString(36).slice(2)}.weights.h5`);
  await writeFile(h5path, members['model.weights.h5']!);
  const f = new h5wasm.File(h5path, 'r');
  const out = names.map((n) => {
    const d = f.get(n) as import('h5wasm').Dataset;
    return { shape: d.shape, dtype: d.dtype, value: d.value as Int8Array | Float32Array };
  });
  f.close();
  return { config: JSON.parse(strFromU8(members['config.json']!)), datasets: out };
}

describe("Keras 3's per-channel int4 .keras layout", () => {
  const c = FIXTURE.int4[0]!;

  it("reads the int4 .keras written by the fixture script with h5py: the dequantized table is Keras's q / scale, bit for bit", async () => {
    const record = await readEmbedding(KERAS_FILE.pathname);
    expect(record.storedDtype).toBe('int4');
    expect(record.config.outputDim).toBe(c.outputDim);
    expect(record.notes.join(' ')).toMatch(/int4\/-1_from_float32/);
    expect(bits(record.weights)).toEqual(bits(fromHex(c.dequantized)));
    const layer = await loadEmbedding(KERAS_FILE.pathname, { backend: createJsBackend() });
    expect(bits((await layer.getWeights())[0]!)).toEqual(bits(fromHex(c.dequantized)));
    // An int4-storage backend quantizes the loaded rows again: the same q, a scale 7 / (max|q / s| + 1e-7)
    // that differs from the file's by float32 rounding (and 1e-7): a few ulps of each value, far inside the int4 bound.
    const int4 = await loadEmbedding(KERAS_FILE.pathname, { backend: createJsBackend({ storage: 'int4' }) });
    const got = (await int4.getWeights())[0]!;
    const want = fromHex(c.dequantized);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(2 ** -20 * Math.abs(want[i]!) + 1e-7);
  });

  it("writes Keras 3.16's layout: packed int8 vars/0 (input_dim, ceil(output_dim / 2)), float32 vars/1, Int4DTypePolicy int4/-1", async () => {
    for (const k of FIXTURE.int4) {
      const path = join(tmp.dir, `w${k.outputDim}.keras`);
      const config = resolveConfig({ inputDim: k.inputDim, outputDim: k.outputDim, name: 'embedding' });
      await saveEmbedding(path, { config, weights: fromHex(k.weights) }, { kerasQuantize: 'int4' });
      const { config: json, datasets } = await weightsOf(path, ['layers/embedding/vars/0', 'layers/embedding/vars/1']);
      const [q, s] = datasets;
      expect(q!.shape).toEqual([k.inputDim, Math.ceil(k.outputDim / 2)]);
      expect(q!.dtype).toBe('<b');
      expect(Array.from(q!.value)).toEqual(k.packed);
      expect(s!.shape).toEqual([k.inputDim]);
      expect(bits(s!.value as Float32Array)).toEqual(bits(fromHex(k.scales)));
      expect(json.config.layers[1].config.dtype).toEqual({
        module: 'keras',
        class_name: 'Int4DTypePolicy',
        config: { mode: 'int4/-1', source_name: 'float32' },
        registered_name: null,
      });
      expect(bits((await readEmbedding(path)).weights)).toEqual(bits(fromHex(k.dequantized)));
    }
  });

  it("reads Keras 3.14+'s sub-channel int4 (groups of columns with zero points, g_idx) written by the fixture script: (q - zero) * scale, bit for bit", async () => {
    const g = FIXTURE.int4Grouped[0]!;
    const record = await readEmbedding(GROUPED_FILE.pathname);
    expect(record.storedDtype).toBe('int4');
    expect([record.config.inputDim, record.config.outputDim]).toEqual([g.inputDim, g.outputDim]);
    expect(bits(record.weights)).toEqual(bits(fromHex(g.dequantized)));
    // The non-null quantization_config (Int4QuantizationConfig) is dropped, with a note.
    expect(record.notes.join(' ')).toMatch(/quantization_config/);
  });

  it('refuses sub-channel int4 whose variables do not match the block size, or that has no zero points', async () => {
    const members = unzipSync(new Uint8Array(await readFile(GROUPED_FILE)));
    const config = JSON.parse(strFromU8(members['config.json']!));
    config.config.layers[1].config.dtype.config.mode = 'int4/128';
    const path = join(tmp.dir, 'grouped-128.keras');
    await writeFile(path, zipSync({ ...members, 'config.json': strToU8(JSON.stringify(config)) }, { level: 0 }));
    await expect(readEmbedding(path)).rejects.toMatchObject({ code: 'BAD_FILE', message: expect.stringMatching(/groups of 128 columns/) });
    // The per-channel file under a sub-channel policy: no embeddings_zero, no g_idx.
    const plain = unzipSync(new Uint8Array(await readFile(KERAS_FILE)));
    const k = JSON.parse(strFromU8(plain['config.json']!));
    k.config.layers[1].config.dtype.config.mode = 'int4/4';
    const path2 = join(tmp.dir, 'no-zero.keras');
    await writeFile(path2, zipSync({ ...plain, 'config.json': strToU8(JSON.stringify(k)) }, { level: 0 }));
    await expect(readEmbedding(path2)).rejects.toMatchObject({ code: 'BAD_FILE', message: expect.stringMatching(/embeddings_zero/) });
  });

  it('refuses a packed table whose width does not match output_dim', async () => {
    const members = unzipSync(new Uint8Array(await readFile(KERAS_FILE)));
    const config = JSON.parse(strFromU8(members['config.json']!));
    config.config.layers[1].config.output_dim = c.outputDim * 2;
    const path = join(tmp.dir, 'wide.keras');
    await writeFile(path, zipSync({ ...members, 'config.json': strToU8(JSON.stringify(config)) }, { level: 0 }));
    await expect(readEmbedding(path)).rejects.toMatchObject({ code: 'BAD_FILE', message: expect.stringMatching(/packed int4/) });
  });
});

describe("Keras 3's LoRA in .keras files: save_own_variables writes the merged table", () => {
  for (const c of FIXTURE.lora) {
    it(`${c.id}: vars/0 is E + (a @ b) * alpha / rank, the config has lora_rank / lora_alpha, and it loads back`, async () => {
      const layer = await Embedding.create(
        { inputDim: c.inputDim, outputDim: c.outputDim, loraRank: c.rank, loraAlpha: c.alpha, name: 'embedding' },
        { backend: createJsBackend(), weights: [c.weights, Float32Array.from(c.loraA), Float32Array.from(c.loraB)] },
      );
      const path = join(tmp.dir, `lora-${c.rank}.keras`);
      await saveEmbedding(path, layer);
      const { config, datasets } = await weightsOf(path, ['layers/embedding/vars/0']);
      expect(bits(datasets[0]!.value as Float32Array)).toEqual(bits(fromHex(c.merged)));
      expect(config.config.layers[1].config).toMatchObject({ lora_rank: c.rank, lora_alpha: c.alpha });
      const loaded = await loadEmbedding(path, { backend: createJsBackend() });
      expect(loaded.config.loraRank).toBe(c.rank);
      expect(bits(await loaded.readMergedRows(0, c.inputDim))).toEqual(bits(fromHex(c.merged)));
      // A Keras 2 .h5 has no LoRA keys: the merged table, a plain layer.
      const h5 = join(tmp.dir, `lora-${c.rank}.h5`);
      await saveEmbedding(h5, layer);
      const plain = await loadEmbedding(h5, { backend: createJsBackend() });
      expect(plain.loraEnabled).toBe(false);
      expect(bits((await plain.getWeights())[0]!)).toEqual(bits(fromHex(c.merged)));
    });
  }
});
