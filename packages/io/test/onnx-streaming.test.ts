// ONNX with the table inside the model (the default under 2 GiB) streams both ways: a save
// writes the builder's bytes around the table's raw_data, streamed a chunk of rows at a time,
// and the file is byte for byte what the builder makes of the whole table; a load walks the
// protobuf through bounded reads and reads the table a range of rows at a time from the file,
// for raw_data and for packed float_data / double_data / int32_data alike. Values are checked
// against formulas at every chunk boundary, not against another reader.
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createOnnxBackend } from '@embedding-layer/adapter-onnx';
import { Embedding, type EmbeddingConfig, resolveConfig } from '@embedding-layer/core';
import { chunkRowsFor } from '@embedding-layer/core/backend';
import { buildEmbeddingModel } from '@embedding-layer/onnx-model';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOnnxTables } from '../src/formats/onnx.js';
import { loadEmbedding, readEmbedding, saveEmbedding } from '../src/index.js';
import { bfloat16Bits, gatherModel, halfBits, len, ONNX_TYPE, tensor, varint } from './onnx-wire.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-onnx-stream-');
});
afterAll(() => tmp.cleanup());

// 16 MiB of float32 rows of 64 values is 65,536 rows: 2 chunks and 5 rows more.
const COLS = 64;
const CHUNK = chunkRowsFor(COLS);
const ROWS = CHUNK * 2 + 5;
/** The first and last row of every chunk, and the last row. */
const BOUNDARIES = [0, CHUNK - 1, CHUNK, 2 * CHUNK - 1, 2 * CHUNK, ROWS - 1];

/** Row r, column c: (r mod 65521) * 8 + c / 64, exact in float32, distinct for every row of these tables. */
function formula(r: number, c: number): number {
  return ((r % 65521) * 8 + c) / 64;
}

function formulaTable(rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = formula(r, c);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0
  );
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('in-model ONNX saves, streamed', () => {
  it('a layer of several chunks: the file is byte for byte what buildEmbeddingModel makes of the whole table', async () => {
    const table = formulaTable(ROWS, COLS);
    const layer = await Embedding.create(
      { inputDim: ROWS, outputDim: COLS, name: 'emb' },
      { backend: createJsBackend(), weights: [table] },
    );
    const reads: [number, number][] = [];
    const read = layer.readMergedRows.bind(layer);
    layer.readMergedRows = (start: number, count: number) => {
      reads.push([start, count]);
      return read(start, count);
    };
    const path = join(tmp.dir, 'layer.onnx');
    await saveEmbedding(path, layer);
    // The table came out of the backend a chunk at a time, never whole.
    expect(reads).toEqual([
      [0, CHUNK],
      [CHUNK, CHUNK],
      [2 * CHUNK, 5],
    ]);
    const expected = buildEmbeddingModel(layer.config, table, { indexType: 'int32' });
    expect(sameBytes(new Uint8Array(await readFile(path)), expected)).toBe(true);
    await layer.dispose();
  });

  // Sizes whose raw_data, TensorProto and GraphProto lengths take varints of 1, 2, 3 and 4 bytes
  // (the builder's frame, with raw_data empty, has 1- or 2-byte ones), with every graph variant:
  // int64 indices, the mask's extra initializer after the table, PyTorch's renorm initializers.
  const cases: [string, EmbeddingConfig, 'int32' | 'int64'][] = [
    ['1 x 1', { inputDim: 1, outputDim: 1, name: 'one' }, 'int32'],
    ['4 x 32, mask_zero, input_length, int64', { inputDim: 4, outputDim: 32, name: 'masked', maskZero: true, inputLength: 7 }, 'int64'],
    ['128 x 128, max_norm', { inputDim: 128, outputDim: 128, name: 'renorm', maxNorm: 1.5, normType: 3 }, 'int32'],
    ['600 x 1000, mask_zero', { inputDim: 600, outputDim: 1000, name: 'wide', maskZero: true }, 'int64'],
  ];
  for (const [name, config, indexType] of cases) {
    it(`${name}: the same bytes as the whole-table builder`, async () => {
      const resolved = resolveConfig(config);
      const weights = formulaTable(resolved.inputDim, resolved.outputDim);
      const path = join(tmp.dir, `case-${resolved.name}.onnx`);
      await saveEmbedding(path, { config, weights }, { onnxIndexType: indexType });
      const expected = buildEmbeddingModel(resolved, weights, { indexType });
      expect(sameBytes(new Uint8Array(await readFile(path)), expected)).toBe(true);
    });
  }

  it("buildEmbeddingModel's deferTable: raw_data left empty, only for a table in the model, weights null only with it", () => {
    const config = resolveConfig({ inputDim: 3, outputDim: 2, name: 'd' });
    const weights = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const deferred = buildEmbeddingModel(config, null, { deferTable: true });
    const whole = buildEmbeddingModel(config, weights);
    // Only the table's 24 bytes are missing (the lengths around them keep their one-byte varints at this size).
    expect(whole.length - deferred.length).toBe(24);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => buildEmbeddingModel(config, null))).toBe('INVALID_WEIGHTS');
    expect(code(() => buildEmbeddingModel(config, null, { deferTable: true, table: 'input' }))).toBe('INVALID_WEIGHTS');
  });

  it('a read that fails half-way leaves the old file and no temp file', async () => {
    const path = join(tmp.dir, 'kept.onnx');
    await saveEmbedding(path, { config: { inputDim: 3, outputDim: 2, name: 'old' }, weights: new Float32Array([1, 2, 3, 4, 5, 6]) });
    const old = await readFile(path);
    const before = await tmp.list();
    const layer = await Embedding.create(
      { inputDim: ROWS, outputDim: COLS, name: 'emb' },
      { backend: createJsBackend(), weights: [formulaTable(ROWS, COLS)] },
    );
    const read = layer.readMergedRows.bind(layer);
    layer.readMergedRows = async (start: number, count: number) => {
      if (start > 0) throw new Error('the backend went away');
      return read(start, count);
    };
    await expect(saveEmbedding(path, layer)).rejects.toThrow('the backend went away');
    expect(sameBytes(new Uint8Array(await readFile(path)), old)).toBe(true);
    expect(await tmp.list()).toEqual(before);
    await layer.dispose();
  });

  it('saving inside the model over a model with external data removes the old .data file', async () => {
    const path = join(tmp.dir, 'switch.onnx');
    const data = { config: { inputDim: 40, outputDim: 8, name: 'sw' }, weights: formulaTable(40, 8) };
    await saveEmbedding(path, data, { onnxExternalData: true });
    expect((await stat(`${path}.data`)).size).toBe(40 * 8 * 4);
    await saveEmbedding(path, data);
    await expect(stat(`${path}.data`)).rejects.toThrow(/ENOENT/);
    expect(sameBytes(new Uint8Array(await readFile(path)), buildEmbeddingModel(resolveConfig(data.config), data.weights))).toBe(true);
  });

  it('ONNX Runtime runs the streamed file: rows at every chunk boundary are the formula, and adapter-onnx agrees', async () => {
    const path = join(tmp.dir, 'ort.onnx');
    await saveEmbedding(path, { config: { inputDim: ROWS, outputDim: COLS, name: 'emb' }, weights: formulaTable(ROWS, COLS) });
    const session = await ort.InferenceSession.create(path);
    const result = await session.run({ indices: new ort.Tensor('int32', Int32Array.from(BOUNDARIES), [1, BOUNDARIES.length]) });
    await session.release();
    const out = result.output!.data as Float32Array;
    const expected = Float32Array.from(BOUNDARIES.flatMap((r) => Array.from({ length: COLS }, (_, c) => formula(r, c))));
    expect(sameBytes(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), new Uint8Array(expected.buffer))).toBe(true);
    // The same file loaded (streamed) into the ONNX Runtime backend gives the same rows.
    const layer = await loadEmbedding(path, { backend: createOnnxBackend() });
    const ours = (await layer.predict([BOUNDARIES])).data as Float32Array;
    expect(sameBytes(new Uint8Array(ours.buffer, ours.byteOffset, ours.byteLength), new Uint8Array(expected.buffer))).toBe(true);
    await layer.dispose();
  });

  it("Python's onnx checked these writer's files (test/oracle): the writer still makes the same bytes", async () => {
    // test/oracle/onnx_oracle.py loaded each case with onnx 1.12, ran onnx.checker and compared
    // the table with the formula in numpy; test/oracle/onnx-oracle.json holds each file's sha256.
    const recorded = JSON.parse(await readFile(new URL('./oracle/onnx-oracle.json', import.meta.url), 'utf8')) as {
      cases: {
        file: string;
        config: EmbeddingConfig;
        indexType: 'int32' | 'int64';
        sha256: string;
        checker: string;
        tableMatches: boolean;
      }[];
    };
    expect(recorded.cases.length).toBeGreaterThan(0);
    for (const c of recorded.cases) {
      expect([c.file, c.checker, c.tableMatches]).toEqual([c.file, 'ok', true]);
      const resolved = resolveConfig(c.config);
      const path = join(tmp.dir, `oracle-${c.file}`);
      await saveEmbedding(
        path,
        { config: c.config, weights: formulaTable(resolved.inputDim, resolved.outputDim) },
        { onnxIndexType: c.indexType },
      );
      expect([c.file, sha256(new Uint8Array(await readFile(path)))]).toEqual([c.file, c.sha256]);
    }
  });
});

describe('in-model ONNX loads, streamed', () => {
  it('raw_data of several chunks: read a chunk at a time from the file; every chunk boundary is the formula', async () => {
    const path = join(tmp.dir, 'load.onnx');
    await saveEmbedding(path, { config: { inputDim: ROWS, outputDim: COLS, name: 'emb' }, weights: formulaTable(ROWS, COLS) });
    const progress: number[] = [];
    const layer = await loadEmbedding(path, { backend: createJsBackend(), onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([CHUNK * COLS * 4, 2 * CHUNK * COLS * 4, ROWS * COLS * 4]);
    const out = (await layer.predict([BOUNDARIES])).data as Float32Array;
    for (const [i, r] of BOUNDARIES.entries())
      for (let c = 0; c < COLS; c++) expect(out[i * COLS + c], `row ${r}, column ${c}`).toBe(formula(r, c));
    const whole = (await layer.getWeights())[0]!;
    expect(
      sameBytes(new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength), new Uint8Array(formulaTable(ROWS, COLS).buffer)),
    ).toBe(true);
    await layer.dispose();
  });

  // Tables in the other encodings the reader supports, built here byte by byte: one chunk and 5
  // rows (a boundary inside the table), 1,024 columns. Values exact in every one of the types and
  // distinct per row: columns 0-2 spell the row number in base 256.
  const cols = 1024;
  const chunk = chunkRowsFor(cols);
  const rows = chunk + 5;
  const small = (r: number, c: number) =>
    c === 0 ? r % 256 : c === 1 ? Math.floor(r / 256) % 256 : c === 2 ? Math.floor(r / 65536) : ((c * 3 + r) % 64) - 32;
  const values = (each: (v: number, i: number) => void) => {
    for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < cols; c++, i++) each(small(r, c), i);
  };
  const varints = (bits: (v: number) => number) => {
    const out = new Uint8Array(rows * cols * 3);
    let at = 0;
    values((v) => {
      for (const b of varint(bits(v))) out[at++] = b;
    });
    return out.subarray(0, at);
  };
  const encodings: [string, string, () => Uint8Array][] = [
    [
      'float32 packed float_data',
      'float32',
      () => {
        const f = new Float32Array(rows * cols);
        values((v, i) => (f[i] = v));
        return tensor('table', ONNX_TYPE.FLOAT, [rows, cols], len(4, new Uint8Array(f.buffer)));
      },
    ],
    [
      'float64 packed double_data',
      'float64',
      () => {
        const f = new Float64Array(rows * cols);
        values((v, i) => (f[i] = v));
        return tensor('table', ONNX_TYPE.DOUBLE, [rows, cols], len(10, new Uint8Array(f.buffer)));
      },
    ],
    [
      'float16 raw_data',
      'float16',
      () => {
        const h = new Uint8Array(rows * cols * 2);
        values((v, i) => {
          h[2 * i] = halfBits(v) & 0xff;
          h[2 * i + 1] = halfBits(v) >> 8;
        });
        return tensor('table', ONNX_TYPE.FLOAT16, [rows, cols], len(9, h));
      },
    ],
    ['float16 packed int32_data', 'float16', () => tensor('table', ONNX_TYPE.FLOAT16, [rows, cols], len(5, varints(halfBits)))],
    ['bfloat16 packed int32_data', 'bfloat16', () => tensor('table', ONNX_TYPE.BFLOAT16, [rows, cols], len(5, varints(bfloat16Bits)))],
  ];
  for (const [name, dtype, build] of encodings) {
    it(`${name}: streamed and whole reads give the formula at the chunk boundary`, async () => {
      const path = join(tmp.dir, `${name.replace(/\W+/g, '-')}.onnx`);
      await writeFile(path, gatherModel(build()));
      const layer = await loadEmbedding(path, { backend: createJsBackend() });
      const record = await readEmbedding(path);
      expect(record.storedDtype).toBe(dtype);
      const weights = (await layer.getWeights())[0]!;
      for (const table of [weights, record.weights]) {
        expect(table.length).toBe(rows * cols);
        let wrong = -1;
        values((v, i) => {
          if (wrong < 0 && table[i] !== v) wrong = i;
        });
        expect(wrong, wrong < 0 ? '' : `row ${Math.floor(wrong / cols)}, column ${wrong % cols}: ${table[wrong]}`).toBe(-1);
      }
      const out = (await layer.predict([[0, chunk - 1, chunk, rows - 1]])).data as Float32Array;
      for (const [i, r] of [0, chunk - 1, chunk, rows - 1].entries())
        expect(Array.from(out.subarray(i * cols, i * cols + 3))).toEqual([small(r, 0), small(r, 1), small(r, 2)]);
      await layer.dispose();
    });
  }

  // Written by Python's onnx (test/oracle/onnx_make_fixtures.py): helper.make_tensor's own choice
  // of field for each type, 1,100 x 4, so one streamed read crosses a varint index block (1,024 rows).
  for (const [file, dtype] of [
    ['float32-float_data.onnx', 'float32'],
    ['float64-double_data.onnx', 'float64'],
    ['float16-int32_data.onnx', 'float16'],
    ['bfloat16-int32_data.onnx', 'bfloat16'],
    ['float16-raw_data.onnx', 'float16'],
  ] as const) {
    it(`Python onnx's ${file}: streamed, whole and ranged reads give the formula`, async () => {
      const path = fileURLToPath(new URL(`./fixtures/onnx-python/${file}`, import.meta.url));
      const [pyRows, pyCols] = [1100, 4];
      const v = (r: number, c: number) => (c === 0 ? r % 256 : c === 1 ? Math.floor(r / 256) : ((3 * c + r) % 64) - 32);
      const expected = Float32Array.from({ length: pyRows * pyCols }, (_, i) => v(Math.floor(i / pyCols), i % pyCols));
      const record = await readEmbedding(path);
      expect([record.storedDtype, record.inputDim, record.outputDim]).toEqual([dtype, pyRows, pyCols]);
      const layer = await loadEmbedding(path, { backend: createJsBackend() });
      const lazy = await openOnnxTables(path);
      try {
        const ranged = await lazy.records[0]!.source.read(1000, 100);
        for (const [what, got, want] of [
          ['loadEmbedding', (await layer.getWeights())[0]!, expected],
          ['readEmbedding', record.weights, expected],
          ['rows 1000-1099', ranged, expected.subarray(1000 * pyCols, 1100 * pyCols)],
        ] as const)
          expect([what, Array.from(got)]).toEqual([what, Array.from(want)]);
      } finally {
        await lazy.close();
        await layer.dispose();
      }
    });
  }

  it('int32_data: ranges that start and end inside the varint index blocks read the right rows', async () => {
    const path = join(tmp.dir, 'varint-ranges.onnx');
    await writeFile(path, gatherModel(tensor('table', ONNX_TYPE.FLOAT16, [rows, cols], len(5, varints(halfBits)))));
    const lazy = await openOnnxTables(path);
    try {
      const source = lazy.records[0]!.source;
      for (const [start, count] of [
        [1000, 50],
        [1023, 2],
        [1024, 1],
        [2047, 1025],
        [rows - 3, 3],
        [0, rows],
      ] as const) {
        const got = await source.read(start, count);
        expect(got.length).toBe(count * cols);
        for (let k = 0; k < count; k++)
          for (let c = 0; c < cols; c++)
            if (got[k * cols + c] !== small(start + k, c))
              expect([start + k, c, got[k * cols + c]]).toEqual([start + k, c, small(start + k, c)]);
      }
    } finally {
      await lazy.close();
    }
  });

  it('a data field written twice is decoded in memory as protobuf merges it: raw_data, the last wins; packed float_data, the pieces join', async () => {
    const first = new Float32Array(32).fill(7);
    const second = Float32Array.from({ length: 32 }, (_, i) => i / 4);
    const raw = join(tmp.dir, 'raw-twice.onnx');
    await writeFile(
      raw,
      gatherModel(tensor('table', ONNX_TYPE.FLOAT, [4, 8], len(9, new Uint8Array(first.buffer)), len(9, new Uint8Array(second.buffer)))),
    );
    const pieces = join(tmp.dir, 'floats-twice.onnx');
    await writeFile(
      pieces,
      gatherModel(tensor('table', ONNX_TYPE.FLOAT, [8, 8], len(4, new Uint8Array(first.buffer)), len(4, new Uint8Array(second.buffer)))),
    );
    for (const [path, expected] of [
      [raw, Array.from(second)],
      [pieces, [...first, ...second]],
    ] as const) {
      const layer = await loadEmbedding(path, { backend: createJsBackend() });
      expect(Array.from((await layer.getWeights())[0]!)).toEqual(expected);
      expect(Array.from((await readEmbedding(path)).weights)).toEqual(expected);
      await layer.dispose();
    }
  });
});
