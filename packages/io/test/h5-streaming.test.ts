// .h5 and .keras stream a range of rows at a time (issue 14): the streamed files are byte for
// byte what the whole-table writers made (their code is kept below as the reference), tables of
// several chunks load through the lazy path with every chunk boundary checked against a formula,
// a save whose read fails half-way leaves the old file and no temp file, chunked and compressed
// HDF5 tables are read by hyperslab too, and h5py (when the system Python has it) reads what we
// write. fixtures/streaming/h5py_oracle.py is the independent reader and the fixture maker.
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding, type ResolvedEmbeddingConfig } from '@embedding-layer/core';
import { encodeInt4, int4RowBytes } from '@embedding-layer/core/backend';
import { strToU8, unzipSync, zipSync } from 'fflate';
import type { Group } from 'h5wasm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openKerasH5Tables } from '../src/formats/keras-h5.js';
import { keras3SequentialConfig, openKeras3Tables } from '../src/formats/keras-v3.js';
import { KERAS2_VERSION, KERAS3_VERSION, keras2SequentialConfig } from '../src/formats.js';
import { loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { createH5Bytes, writeStringListAttr } from '../src/util/h5.js';
import { h5WorkerLimits, h5WorkerTestHooks } from '../src/util/h5-worker.js';
import { quantizeInt8 } from '../src/util/int8.js';
import { zipWriteLimits } from '../src/util/zip.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-h5-stream-');
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  vi.useRealTimers();
  h5WorkerTestHooks.fixedTimeMs = undefined;
});

/**
 * Freezes the clock of this thread (h5wasm here, fflate, metadata.json) and of the HDF5 worker:
 * HDF5 stores modification times in object headers, so two writers compare byte for byte only
 * at one instant.
 */
function freezeClock(): void {
  const at = new Date(2026, 11, 5, 4, 30, 12);
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  h5WorkerTestHooks.fixedTimeMs = at.getTime();
}

const FIXTURES = fileURLToPath(new URL('./fixtures/streaming/', import.meta.url));
const ORACLE = join(FIXTURES, 'h5py_oracle.py');

// 16 MiB of float32 rows of 64 values is 65,536 rows: 2 chunks and 5 rows more.
const CHUNK = 65_536;
const ROWS = CHUNK * 2 + 5;
const COLS = 64;
/** Rows on both sides of every chunk boundary, and the ends. */
const BOUNDARY_ROWS = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, ROWS - 1];

/** Row r, column c: ((r mod 65521) * 8 + c) / 64, exact in float32 (h5py_oracle.py computes the same). */
function formula(r: number, c: number): number {
  return ((r % 65521) * 8 + c) / 64;
}

function formulaTable(rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = formula(r, c);
  return out;
}

const CONFIG = { inputDim: ROWS, outputDim: COLS, name: 'emb' };

async function formulaLayer(): Promise<Embedding> {
  return Embedding.create(CONFIG, { backend: createJsBackend(), weights: [formulaTable(ROWS, COLS)] });
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && Buffer.compare(x, y) === 0;
}

/** Checks rows of a table read back against the formula, at every chunk boundary. */
function expectFormulaRows(table: Float32Array, rows: readonly number[], cols = COLS): void {
  for (const r of rows) for (const c of [0, 1, cols - 1]) expect(table[r * cols + c], `row ${r}, column ${c}`).toBe(formula(r, c));
}

// The whole-table writers as they were before the streamed ones (commit 84b178b), kept as the
// reference the streamed bytes must equal: the HDF5 file built in h5wasm's memory on this thread,
// the .keras zipped by fflate.
async function wholeKerasH5(config: ResolvedEmbeddingConfig, weights: Float32Array, weightsOnly = false): Promise<Uint8Array> {
  const name = config.name;
  const inputName = `${name}_input`;
  const modelConfig = JSON.stringify(keras2SequentialConfig({ config, weights }));
  return createH5Bytes((file) => {
    let root: Group = file;
    if (!weightsOnly) {
      file.create_attribute('keras_version', KERAS2_VERSION);
      file.create_attribute('backend', 'tensorflow');
      file.create_attribute('model_config', modelConfig);
      root = file.create_group('model_weights');
    }
    root.create_attribute('backend', 'tensorflow');
    root.create_attribute('keras_version', KERAS2_VERSION);
    writeStringListAttr(root, 'layer_names', weightsOnly ? [name] : [inputName, name]);
    if (!weightsOnly) writeStringListAttr(root.create_group(inputName), 'weight_names', []);
    const layerGroup = root.create_group(name);
    writeStringListAttr(layerGroup, 'weight_names', [`${name}/embeddings:0`]);
    layerGroup
      .create_group(name)
      .create_dataset({ name: 'embeddings:0', data: weights, shape: [config.inputDim, config.outputDim], dtype: '<f' });
  });
}

function timestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}@${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

async function wholeKeras3(config: ResolvedEmbeddingConfig, weights: Float32Array, quantize?: 'int8' | 'int4'): Promise<Uint8Array> {
  const { inputDim: rows, outputDim: cols } = config;
  const h5 = await createH5Bytes((file) => {
    const vars = file.create_group('layers').create_group('embedding').create_group('vars');
    vars.create_attribute('name', config.name);
    if (quantize === 'int8') {
      const q = quantizeInt8(weights, rows, cols);
      vars.create_dataset({ name: '0', data: q.values, shape: [rows, cols], dtype: '<b' });
      vars.create_dataset({ name: '1', data: q.scales, shape: [rows], dtype: '<f' });
    } else if (quantize === 'int4') {
      const q = encodeInt4(weights, rows, cols);
      vars.create_dataset({ name: '0', data: q.packed, shape: [rows, int4RowBytes(cols)], dtype: '<b' });
      vars.create_dataset({ name: '1', data: q.scales, shape: [rows], dtype: '<f' });
    } else vars.create_dataset({ name: '0', data: weights, shape: [rows, cols], dtype: '<f' });
    file.create_group('vars').create_attribute('name', 'sequential');
  });
  const modelConfig = keras3SequentialConfig({ config, weights });
  const layer = (modelConfig.config as { layers: { config: Record<string, unknown> }[] }).layers[1]!.config;
  if (quantize === 'int8') {
    layer.dtype = {
      module: 'keras',
      class_name: 'QuantizedDTypePolicy',
      config: { mode: 'int8', source_name: 'float32' },
      registered_name: null,
    };
    layer.quantization_config = null;
  }
  if (quantize === 'int4') {
    layer.dtype = {
      module: 'keras',
      class_name: 'Int4DTypePolicy',
      config: { mode: 'int4/-1', source_name: 'float32' },
      registered_name: null,
    };
    layer.quantization_config = null;
  }
  const metadata = { keras_version: KERAS3_VERSION, date_saved: timestamp(new Date()) };
  return zipSync(
    {
      'metadata.json': strToU8(JSON.stringify(metadata)),
      'config.json': strToU8(JSON.stringify(modelConfig)),
      'model.weights.h5': h5,
    },
    { level: 0 },
  );
}

function hasH5py(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import h5py, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const H5PY = hasH5py();

function oracle(path: string, rows: number, cols: number): Record<string, unknown> {
  return JSON.parse(execFileSync('/usr/bin/python3', [ORACLE, 'check', path, String(rows), String(cols)], { encoding: 'utf8' }));
}

describe('streamed .h5 and .keras saves', () => {
  for (const weightsOnly of [false, true]) {
    it(`.h5${weightsOnly ? ' (weights only)' : ''}: the file written from a layer a chunk at a time is byte for byte the whole-table writer's`, async () => {
      freezeClock();
      const layer = await formulaLayer();
      const path = join(tmp.dir, `streamed${weightsOnly ? '-w' : ''}.h5`);
      await saveEmbedding(path, layer, { weightsOnly });
      const expected = await wholeKerasH5(layer.config, formulaTable(ROWS, COLS), weightsOnly);
      expect(sameBytes(new Uint8Array(await readFile(path)), expected)).toBe(true);
      await layer.dispose();
    });
  }

  for (const quantize of [undefined, 'int8', 'int4'] as const) {
    it(`.keras ${quantize ?? 'float32'}: the stored zip written a chunk at a time is byte for byte fflate's zip of the whole-table members`, async () => {
      // Both writers put the time in the zip, in metadata.json and in HDF5's object headers.
      freezeClock();
      const layer = await formulaLayer();
      const path = join(tmp.dir, `streamed-${quantize ?? 'f32'}.keras`);
      await saveEmbedding(path, layer, quantize ? { kerasQuantize: quantize } : {});
      const expected = await wholeKeras3(layer.config, formulaTable(ROWS, COLS), quantize);
      const written = new Uint8Array(await readFile(path));
      expect(written.length).toBe(expected.length);
      expect(sameBytes(written, expected)).toBe(true);
      await layer.dispose();
    });
  }

  for (const ext of ['h5', 'keras'] as const) {
    it(`.${ext}: a read that fails half-way leaves the old file and no temp file`, async () => {
      const layer = await formulaLayer();
      const path = join(tmp.dir, `kept.${ext}`);
      await writeFile(path, 'the old file');
      const before = (await tmp.list()).sort();
      const read = layer.readMergedRows.bind(layer);
      let reads = 0;
      layer.readMergedRows = async (start: number, count: number) => {
        reads++;
        if (start > 0) throw new Error('the backend went away');
        return read(start, count);
      };
      await expect(saveEmbedding(path, layer)).rejects.toThrow('the backend went away');
      expect(reads).toBe(2);
      expect(await readFile(path, 'utf8')).toBe('the old file');
      expect((await tmp.list()).sort()).toEqual(before);
      // The HDF5 worker is usable afterwards (its half-written file was dropped with it).
      const small = join(tmp.dir, `after-failure.${ext}`);
      await saveEmbedding(small, { config: { inputDim: 3, outputDim: 2, name: 'emb' }, weights: new Float32Array([1, 2, 3, 4, 5, 6]) });
      expect(Array.from((await readEmbedding(small)).weights)).toEqual([1, 2, 3, 4, 5, 6]);
      await layer.dispose();
    });
  }

  it('.keras with Zip64 sizes (forced for a small table) reads back, and Python reads it when h5py is there', async () => {
    const saved = zipWriteLimits.zip64Bytes;
    zipWriteLimits.zip64Bytes = 0;
    try {
      const path = join(tmp.dir, 'zip64.keras');
      await saveEmbedding(path, { config: { inputDim: 1000, outputDim: 16, name: 'emb' }, weights: formulaTable(1000, 16) });
      const bytes = new Uint8Array(await readFile(path));
      // The central directory entry of model.weights.h5 says 0xffffffff and carries a Zip64 field (id 1).
      const at = Buffer.from(bytes).lastIndexOf(Buffer.from('PK\x01\x02', 'latin1'));
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect(view.getUint32(at + 20, true)).toBe(0xffffffff);
      expect(view.getUint16(at + 46 + 'model.weights.h5'.length, true)).toBe(1);
      expect(sameBytes((await readEmbedding(path)).weights, formulaTable(1000, 16))).toBe(true);
      if (H5PY) expect(oracle(path, 1000, 16)).toMatchObject({ testzip: null, differing_values: 0, shape: [1000, 16] });
    } finally {
      zipWriteLimits.zip64Bytes = saved;
    }
  });
});

describe('streamed .h5 and .keras loads', () => {
  for (const ext of ['h5', 'keras'] as const) {
    it(`.${ext}: a table of several chunks loads a range of rows at a time, every chunk boundary as the formula says`, async () => {
      const path = join(tmp.dir, `load.${ext}`);
      await saveEmbedding(path, { config: CONFIG, weights: formulaTable(ROWS, COLS) });
      const progress: number[] = [];
      const layer = await loadEmbedding(path, { backend: createJsBackend(), onProgress: (done) => progress.push(done) });
      const table = (await layer.getWeights())[0]!;
      expect(sameBytes(table, formulaTable(ROWS, COLS))).toBe(true);
      expectFormulaRows(table, BOUNDARY_ROWS);
      const out = await layer.predict([BOUNDARY_ROWS]);
      for (const [i, r] of BOUNDARY_ROWS.entries()) expect(out.data[i * COLS + 3]).toBe(formula(r, 3));
      // Read in ranges of at most one chunk (16 MiB of float32), the last report the table's bytes.
      expect(progress.length).toBe(3);
      for (let i = 1; i < progress.length; i++) expect(progress[i]! - progress[i - 1]!).toBeLessThanOrEqual(CHUNK * COLS * 4);
      expect(progress.at(-1)).toBe(ROWS * COLS * 4);
      // The whole-file reader (now also by hyperslab) gives the same bits.
      expect(sameBytes((await readEmbedding(path)).weights, table)).toBe(true);
      await layer.dispose();
    });
  }

  it('the lazy sources read any range, straddling chunk boundaries, from the file (.h5 and .keras)', async () => {
    const h5 = join(tmp.dir, 'ranges.h5');
    const keras = join(tmp.dir, 'ranges.keras');
    for (const p of [h5, keras]) await saveEmbedding(p, { config: CONFIG, weights: formulaTable(ROWS, COLS) });
    // One at a time: an open file holds the HDF5 worker until it is closed.
    for (const open of [() => openKerasH5Tables(h5), () => openKeras3Tables(keras)]) {
      const lazy = await open();
      try {
        const source = lazy!.records[0]!.source;
        for (const [start, count] of [
          [CHUNK - 3, 7],
          [2 * CHUNK - 1, 6],
          [ROWS - 1, 1],
          [12_345, 1],
        ] as const) {
          const values = await source.read(start, count);
          expect(values.length).toBe(count * COLS);
          for (let i = 0; i < count; i++) for (const c of [0, COLS - 1]) expect(values[i * COLS + c]).toBe(formula(start + i, c));
        }
      } finally {
        await lazy!.close();
      }
    }
  });

  it('a chunked, gzip- and shuffle-filtered table (h5py, chunks of 7 x 5) is read by hyperslab, whole and in ranges', async () => {
    const path = join(FIXTURES, 'chunked-gzip.h5');
    const whole = await readEmbedding(path);
    expect(whole.location).toBe('model_weights/emb/emb/embeddings:0');
    expect(sameBytes(whole.weights, formulaTable(1000, 16))).toBe(true);
    const lazy = await openKerasH5Tables(path);
    try {
      for (const [start, count] of [
        [5, 9],
        [994, 6],
        [0, 1000],
      ] as const) {
        const values = await lazy.records[0]!.source.read(start, count);
        expect(sameBytes(values, formulaTable(1000, 16).subarray(start * 16, (start + count) * 16)), `rows ${start}+${count}`).toBe(true);
      }
    } finally {
      await lazy.close();
    }
    const layer = await loadEmbedding(path, { backend: createJsBackend() });
    expect(sameBytes((await layer.getWeights())[0]!, formulaTable(1000, 16))).toBe(true);
    await layer.dispose();
  });

  it('.keras with a deflated model.weights.h5 is not streamed (null opener) and still loads, inflated whole', async () => {
    const stored = join(tmp.dir, 'small.keras');
    await saveEmbedding(stored, { config: { inputDim: 300, outputDim: 8, name: 'emb' }, weights: formulaTable(300, 8) });
    const members = unzipSync(new Uint8Array(await readFile(stored)));
    const path = join(tmp.dir, 'deflated.keras');
    await writeFile(path, zipSync(members, { level: 6 }));
    expect(await openKeras3Tables(path)).toBeNull();
    const layer = await loadEmbedding(path, { backend: createJsBackend() });
    expect(sameBytes((await layer.getWeights())[0]!, formulaTable(300, 8))).toBe(true);
    await layer.dispose();
  });

  it('.keras whose stored model.weights.h5 is damaged is refused by its CRC-32 before HDF5 reads it (load and read)', async () => {
    const good = join(tmp.dir, 'crc.keras');
    await saveEmbedding(good, { config: { inputDim: 300, outputDim: 8, name: 'emb' }, weights: formulaTable(300, 8) });
    const bytes = Buffer.from(await readFile(good));
    const h5At = bytes.indexOf(Buffer.from('model.weights.h5', 'latin1')) + 'model.weights.h5'.length;
    // A byte in the middle of the table's values: HDF5 would read it as a wrong value, silently.
    bytes[h5At + 4000] = bytes[h5At + 4000]! ^ 0x40;
    const path = join(tmp.dir, 'crc-damaged.keras');
    await writeFile(path, bytes);
    await expect(readEmbeddings(path)).rejects.toMatchObject({
      code: 'BAD_FILE',
      message: expect.stringMatching(/model\.weights\.h5: CRC-32 mismatch/),
    });
    await expect(loadEmbedding(path, { backend: createJsBackend() })).rejects.toMatchObject({
      code: 'BAD_FILE',
      message: expect.stringMatching(/model\.weights\.h5: CRC-32 mismatch/),
    });
  });
});

describe('the HDF5 worker on files read in place', () => {
  it('a file that loops HDF5, made 100 GiB (sparse) long, fails within the limit of 256 MiB, not of its size', async () => {
    // Read in place, a file's size no longer has to fit in memory; a scan's CPU allowance must not
    // grow with it (100 GiB at 2 ms per MiB would be 205 s; the bounded limit is 0.5 + 0.512 s).
    const loop = fileURLToPath(new URL('./fixtures/fuzz-found/keras-h5-hdf5-loop.h5', import.meta.url));
    const path = join(tmp.dir, 'loop-sparse.h5');
    await copyFile(loop, path);
    await truncate(path, 100 * 1024 ** 3);
    const saved = { ...h5WorkerLimits };
    try {
      h5WorkerLimits.cpuMs = 500;
      h5WorkerLimits.cpuMsPerMiB = 2;
      await expect(readEmbeddings(path)).rejects.toMatchObject({
        code: 'BAD_FILE',
        message: expect.stringMatching(/HDF5 (scan|open) did not finish within 1 s of CPU time/),
      });
    } finally {
      Object.assign(h5WorkerLimits, saved);
    }
  }, 30_000);
});

describe.skipIf(!H5PY)(
  `h5py reads what the streamed writers write${H5PY ? '' : ' (skipped: /usr/bin/python3 has no h5py; apt-get install python3-h5py)'}`,
  () => {
    for (const ext of ['h5', 'keras'] as const) {
      it(`.${ext} of several chunks: h5py's values equal the formula, a contiguous float32 dataset${ext === 'keras' ? ', stored members with good CRCs' : ''}`, async () => {
        const path = join(tmp.dir, `oracle.${ext}`);
        await saveEmbedding(path, { config: CONFIG, weights: formulaTable(ROWS, COLS) });
        const report = oracle(path, ROWS, COLS);
        expect(report).toMatchObject({ shape: [ROWS, COLS], dtype: 'float32', layout: 'contiguous', differing_values: 0 });
        if (ext === 'keras') {
          expect(report.testzip).toBeNull();
          expect(report.members).toEqual({
            'metadata.json': { compress_type: 0, size: expect.any(Number) },
            'config.json': { compress_type: 0, size: expect.any(Number) },
            'model.weights.h5': { compress_type: 0, size: expect.any(Number) },
          });
        }
      });
    }

    it('the chunked fixture is what h5py_oracle.py make-chunked writes (regenerated, same values)', async () => {
      const path = join(tmp.dir, 'chunked-again.h5');
      execFileSync('/usr/bin/python3', [ORACLE, 'make-chunked', path]);
      expect(oracle(path, 1000, 16)).toMatchObject({ layout: 'chunked', differing_values: 0 });
      expect(sameBytes((await readEmbedding(path)).weights, (await readEmbedding(join(FIXTURES, 'chunked-gzip.h5'))).weights)).toBe(true);
    });
  },
);
