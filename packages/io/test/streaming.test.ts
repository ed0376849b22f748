// Tables stream between files and backends a chunk of rows at a time (safetensors, C-order
// .npy): the bytes written equal the in-memory encoders' bytes for the same table, tables of
// several chunks load bit-exactly through the lazy path, and a save that fails half-way leaves
// the old file as it was.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, encodeSafetensors } from '../src/formats.js';
import { loadEmbedding, readEmbedding, saveEmbedding } from '../src/index.js';
import { encodeHalf } from '../src/util/float.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-stream-');
});
afterAll(() => tmp.cleanup());

// 16 MiB of float32 rows of 64 values is 65,536 rows: 2 chunks and 5 rows more.
const ROWS = 65_536 * 2 + 5;
const COLS = 64;

/** Row r, column c: (r mod 65521) * 8 + c / 64, exact in float32 and in float16 for small r (checked below). */
function formulaTable(rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = ((r % 65521) * 8 + c) / 64;
  return out;
}

async function formulaLayer(): Promise<Embedding> {
  return Embedding.create(
    { inputDim: ROWS, outputDim: COLS, name: 'emb' },
    { backend: createJsBackend(), weights: [formulaTable(ROWS, COLS)] },
  );
}

describe('streamed saves', () => {
  it('safetensors: the streamed file is byte for byte the in-memory encoding', async () => {
    const layer = await formulaLayer();
    const path = join(tmp.dir, 'stream.safetensors');
    await saveEmbedding(path, layer);
    const written = new Uint8Array(await readFile(path));
    // The metadata is what the writer stores; the tensor part must match encodeSafetensors exactly.
    const headerSize = Number(new DataView(written.buffer, written.byteOffset).getBigUint64(0, true));
    const metadata = (JSON.parse(new TextDecoder().decode(written.subarray(8, 8 + headerSize))) as { __metadata__: Record<string, string> })
      .__metadata__;
    const expected = encodeSafetensors([{ name: 'emb.weight', data: formulaTable(ROWS, COLS), shape: [ROWS, COLS] }], metadata);
    expect(written.length).toBe(expected.length);
    expect(Buffer.compare(Buffer.from(written), Buffer.from(expected))).toBe(0);
    await layer.dispose();
  });

  it('.npy float16: the streamed file is byte for byte the in-memory encoding', async () => {
    const layer = await formulaLayer();
    const path = join(tmp.dir, 'stream.npy');
    await saveEmbedding(path, layer, { npyDtype: 'float16' });
    const expected = encodeNpy(formulaTable(ROWS, COLS), ROWS, COLS, 'float16');
    expect(Buffer.compare(await readFile(path), Buffer.from(expected))).toBe(0);
    await layer.dispose();
  });

  for (const quantize of [undefined, 'float16'] as const) {
    it(`TF.js ${quantize ?? 'float32'}: the shards streamed from a layer are the table's bytes, cut every shardBytes`, async () => {
      const layer = await formulaLayer();
      const path = join(tmp.dir, `streamed-${quantize ?? 'f32'}.json`);
      // Shards of 1,048,573 bytes: their boundaries fall inside rows (a row is 256 or 128 bytes).
      const shardBytes = 1_048_573;
      await saveEmbedding(path, layer, { shardBytes, ...(quantize ? { quantize } : {}) });
      const manifest = (JSON.parse(await readFile(path, 'utf8')) as { weightsManifest: { paths: string[] }[] }).weightsManifest[0]!;
      const table = formulaTable(ROWS, COLS);
      const expected = quantize ? encodeHalf(table) : new Uint8Array(table.buffer);
      expect(manifest.paths.length).toBe(Math.ceil(expected.length / shardBytes));
      for (const [i, shard] of manifest.paths.entries()) {
        const bytes = await readFile(join(tmp.dir, shard));
        expect(Buffer.compare(bytes, Buffer.from(expected.subarray(i * shardBytes, (i + 1) * shardBytes))), shard).toBe(0);
      }
      await layer.dispose();
    });
  }

  it("ONNX with external data: the .data file is the table's bytes, the model holds only its size", async () => {
    const layer = await formulaLayer();
    const path = join(tmp.dir, 'external.onnx');
    await saveEmbedding(path, layer, { onnxExternalData: true });
    const data = await readFile(`${path}.data`);
    expect(Buffer.compare(data, Buffer.from(formulaTable(ROWS, COLS).buffer))).toBe(0);
    expect((await readFile(path)).length).toBeLessThan(64 * 1024);
    // Read back through the whole-file reader (ONNX's external data path), bit for bit.
    const back = await readEmbedding(path);
    expect(Buffer.compare(Buffer.from(back.weights.buffer, back.weights.byteOffset, back.weights.byteLength), data)).toBe(0);
    await layer.dispose();
  });

  it('a read that fails half-way leaves the old file and no temp file', async () => {
    const layer = await formulaLayer();
    const path = join(tmp.dir, 'kept.safetensors');
    await writeFile(path, 'the old file');
    const before = await tmp.list();
    const read = layer.readMergedRows.bind(layer);
    layer.readMergedRows = async (start: number, count: number) => {
      if (start > 0) throw new Error('the backend went away');
      return read(start, count);
    };
    await expect(saveEmbedding(path, layer)).rejects.toThrow('the backend went away');
    expect(await readFile(path, 'utf8')).toBe('the old file');
    expect(await tmp.list()).toEqual(before);
    await layer.dispose();
  });
});

describe('streamed loads', () => {
  for (const [name, bytes] of [
    ['safetensors F32', () => encodeSafetensors([{ name: 'emb.weight', data: formulaTable(ROWS, COLS), shape: [ROWS, COLS] }])],
    [
      'safetensors BF16',
      () => encodeSafetensors([{ name: 'emb.weight', data: formulaTable(ROWS, COLS), shape: [ROWS, COLS], dtype: 'BF16' }]),
    ],
    ['.npy float32', () => encodeNpy(formulaTable(ROWS, COLS), ROWS, COLS)],
    ['.npy float64', () => encodeNpy(formulaTable(ROWS, COLS), ROWS, COLS, 'float64')],
    ['TF.js uint8', 'tfjs'],
    ['ONNX external data', 'onnx'],
  ] as const) {
    it(`${name}: a table of several chunks loads as the whole-file reader reads it, in ranges`, async () => {
      const stem = join(tmp.dir, `load-${name.replace(/\W+/g, '-')}`);
      const path = `${stem}.${name.startsWith('.npy') ? 'npy' : bytes === 'tfjs' ? 'json' : bytes === 'onnx' ? 'onnx' : 'safetensors'}`;
      if (bytes === 'onnx') {
        await saveEmbedding(
          path,
          { config: { inputDim: ROWS, outputDim: COLS, name: 'emb' }, weights: formulaTable(ROWS, COLS) },
          { onnxExternalData: true },
        );
      } else if (bytes === 'tfjs') {
        // Quantized shards of 1 MiB: rows cross shard boundaries, and uint8 decodes per value.
        await saveEmbedding(
          path,
          { config: { inputDim: ROWS, outputDim: COLS, name: 'emb' }, weights: formulaTable(ROWS, COLS) },
          { quantize: 'uint8', shardBytes: 1_000_003 },
        );
      } else await writeFile(path, bytes());
      const progress: number[] = [];
      const layer = await loadEmbedding(path, { backend: createJsBackend(), onProgress: (done) => progress.push(done) });
      const whole = await readEmbedding(path);
      const table = (await layer.getWeights())[0]!;
      expect(table.length).toBe(ROWS * COLS);
      // Values that bfloat16 cannot hold are rounded by the reader in both paths alike.
      expect(
        Buffer.compare(
          Buffer.from(table.buffer, table.byteOffset, table.byteLength),
          Buffer.from(whole.weights.buffer, whole.weights.byteOffset, whole.weights.byteLength),
        ),
      ).toBe(0);
      // The table was read in more than one range, never more than about 16 MiB of float32 values at a time.
      expect(progress.length).toBeGreaterThan(1);
      const element = whole.storedBytes / (ROWS * COLS);
      for (let i = 1; i < progress.length; i++) expect(progress[i]! - progress[i - 1]!).toBeLessThanOrEqual(65_536 * COLS * element);
      expect(progress.at(-1)).toBe(whole.storedBytes);
      await layer.dispose();
    });
  }

  it('values come from the right rows at every chunk boundary (against the formula, not a reader)', async () => {
    const path = join(tmp.dir, 'formula.safetensors');
    await writeFile(path, encodeSafetensors([{ name: 'emb.weight', data: formulaTable(ROWS, COLS), shape: [ROWS, COLS] }]));
    const layer = await loadEmbedding(path, { backend: createJsBackend() });
    const out = await layer.predict([[0, 65_535, 65_536, 131_071, 131_072, ROWS - 1]]);
    const rows = [0, 65_535, 65_536, 131_071, 131_072, ROWS - 1];
    for (const [i, r] of rows.entries()) expect(out.data[i * COLS + 3]).toBe(((r % 65521) * 8 + 3) / 64);
    await layer.dispose();
  });
});
