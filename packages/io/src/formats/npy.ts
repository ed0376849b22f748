import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord, StoredDtype } from '../types.js';
import { decodeFloat32, decodeFloat64, decodeHalf, encodeHalf, float32Bytes, ownedFloat32 } from '../util/float.js';
import { atomicWriteFiles, openRanges, readWhole, writeInPieces } from '../util/fs.js';
import {
  arrayRows,
  bytesRowSource,
  checkMatrixShape,
  forEachChunk,
  type LazyTables,
  makeLazyRecord,
  makeRecord,
  type ReadOptions,
  type RowReader,
} from './common.js';

/*
 * The .npy format (numpy/lib/format.py, NEP 1): magic "\x93NUMPY", version bytes, a header
 * length, a Python dict literal {'descr', 'fortran_order', 'shape'}, then the raw array. It is
 * small enough that a parser of our own (about 60 lines) beats a dependency: the npm packages
 * for it are unmaintained or pull in a whole ndarray library.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** A decoded .npy matrix. */
export interface NpyMatrix {
  /** Row-major float32 values. */
  readonly data: Float32Array;
  /** `[rows, cols]`. */
  readonly shape: readonly [number, number];
  /** The element type in the file. */
  readonly dtype: Extract<StoredDtype, 'float32' | 'float16' | 'float64'>;
  /** Whether the file stored the matrix column-major (`fortran_order: True`). */
  readonly fortranOrder: boolean;
  /** Bytes of array data. */
  readonly dataBytes: number;
}

/** Element types a .npy file is written in (`saveEmbedding`'s `npyDtype`, `encodeNpy`). */
export type NpyDtype = 'float32' | 'float16' | 'float64';

/**
 * Decodes a 2-D float .npy file (`<f4`, `<f2`, `<f8`, either byte order, C or Fortran order)
 * into a row-major float32 matrix. Throws `BadFileError` naming `file` for anything else.
 */
export function decodeNpy(bytes: Uint8Array, file = '<npy>'): NpyMatrix {
  const h = parseNpyHeader(bytes, bytes.length, file);
  const { rows, cols, count } = h;
  const raw = bytes.subarray(h.dataStart, h.dataStart + h.dataBytes);
  let data = decodeNpyValues(h, raw, count);
  if (h.fortranOrder) {
    const rowMajor = new Float32Array(count);
    for (let c = 0; c < cols; c++) {
      const column = c * rows;
      for (let r = 0; r < rows; r++) rowMajor[r * cols + c] = data[column + r]!;
    }
    data = rowMajor;
  }
  return { data, shape: [rows, cols], dtype: h.dtype, fortranOrder: h.fortranOrder, dataBytes: h.dataBytes };
}

/** What a .npy header says, checked against the file's size. */
interface NpyHeader {
  rows: number;
  cols: number;
  count: number;
  /** Bytes per value: 2, 4 or 8. */
  size: number;
  littleEndian: boolean;
  fortranOrder: boolean;
  dtype: NpyDtype;
  dataStart: number;
  dataBytes: number;
}

/** Where a .npy header ends, from the file's first 12 bytes (fewer for a short file). */
function npyHeaderEnd(head: Uint8Array, fileSize: number, file: string): number {
  if (head.length < 10 || !MAGIC.every((b, i) => head[i] === b))
    throw badFile(file, 'not a .npy file: expected the magic bytes "\\x93NUMPY" at the start.');
  const major = head[6]!;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (major < 1 || major > 3) throw badFile(file, `unsupported .npy version ${major}.${head[7]}; expected 1.0, 2.0 or 3.0.`);
  const headerLen = major === 1 ? view.getUint16(8, true) : head.length >= 12 ? view.getUint32(8, true) : Number.POSITIVE_INFINITY;
  const dataStart = (major === 1 ? 10 : 12) + headerLen;
  if (dataStart > fileSize) throw badFile(file, `truncated: the header says ${headerLen} bytes, the file has ${fileSize} in all.`);
  return dataStart;
}

/** Parses a .npy header from the file's first bytes (`head`: at least up to the header's end). */
function parseNpyHeader(head: Uint8Array, fileSize: number, file: string): NpyHeader {
  const dataStart = npyHeaderEnd(head, fileSize, file);
  const major = head[6]!;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(head.subarray(major === 1 ? 10 : 12, dataStart));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw badFile(file, `malformed .npy header ${JSON.stringify(header.trim())}: expected the keys descr, fortran_order and shape.`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const [rows, cols] = checkMatrixShape(file, 'the .npy array', shape);
  const match = /^([<>|=]?)f([248])$/.exec(descr);
  if (!match) throw badFile(file, `the .npy array has dtype ${JSON.stringify(descr)}; expected a float dtype: '<f4', '<f2' or '<f8'.`);
  const size = Number(match[2]);
  const count = rows * cols;
  const dataBytes = count * size;
  if (fileSize - dataStart < dataBytes)
    throw badFile(
      file,
      `truncated: shape [${rows}, ${cols}] of ${descr} needs ${dataBytes} bytes of data, the file has ${fileSize - dataStart}.`,
    );
  const dtype: NpyDtype = size === 4 ? 'float32' : size === 2 ? 'float16' : 'float64';
  return { rows, cols, count, size, littleEndian: match[1] !== '>', fortranOrder: fortran === 'True', dtype, dataStart, dataBytes };
}

function decodeNpyValues(h: NpyHeader, raw: Uint8Array, count: number): Float32Array {
  return h.size === 4
    ? decodeFloat32(raw, count, h.littleEndian)
    : h.size === 2
      ? decodeHalf(raw, count, h.littleEndian)
      : decodeFloat64(raw, count, h.littleEndian);
}

/**
 * Encodes a row-major matrix as a version 1.0 .npy file in C order, as `numpy.save` writes it
 * (header padded with spaces to a multiple of 64 bytes, ending in a newline).
 */
export function encodeNpy(data: Float32Array, rows: number, cols: number, dtype: NpyDtype = 'float32'): Uint8Array {
  const head = npyHeaderBytes(rows, cols, dtype);
  const body = npyValueBytes(data, dtype);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** The magic, version 1.0 and the header dict, padded with spaces to a multiple of 64 bytes. */
function npyHeaderBytes(rows: number, cols: number, dtype: NpyDtype): Uint8Array {
  const descr = dtype === 'float32' ? '<f4' : dtype === 'float16' ? '<f2' : '<f8';
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = `${dict}${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

function npyValueBytes(data: Float32Array, dtype: NpyDtype): Uint8Array {
  return dtype === 'float32' ? float32Bytes(data) : dtype === 'float16' ? encodeHalf(data) : new Uint8Array(Float64Array.from(data).buffer);
}

/** Reads a .npy file as one Embedding record (the file holds only the matrix; dims come from its shape). */
export async function readNpy(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  return readNpyBytes(await readWhole(path, options.onProgress), path, options);
}

/** @internal {@link readNpy} on a file held in memory (`path` names it in errors). */
export function readNpyBytes(bytes: Uint8Array, path: string, options: ReadOptions = {}): EmbeddingRecord[] {
  const npy = decodeNpy(bytes, path);
  const found = npyFound(npy.shape[0], npy.shape[1], npy.dtype, npy.dataBytes, npy.fortranOrder, options);
  return [makeRecord(path, 'npy', { ...found, weights: npy.data }, options)];
}

/**
 * @internal The table of a C-order .npy file, held open: only the header is read; the
 * record's `source` reads its rows from the file when asked. A Fortran-order file gives null
 * (its rows are not contiguous: read it whole with {@link readNpy}).
 */
export async function openNpyTables(path: string, options: ReadOptions = {}): Promise<LazyTables | null> {
  const file = await openRanges(path);
  try {
    const dataStart = npyHeaderEnd(await file.read(0, Math.min(12, file.size)), file.size, path);
    const h = parseNpyHeader(await file.read(0, dataStart), file.size, path);
    if (h.fortranOrder) {
      await file.close();
      return null;
    }
    const decode = h.size === 4 && h.littleEndian ? ownedFloat32 : (bytes: Uint8Array, count: number) => decodeNpyValues(h, bytes, count);
    const read = (offset: number, length: number) => file.read(h.dataStart + offset, length);
    const source = bytesRowSource(h.rows, h.cols, h.size, read, decode, options.onProgress);
    const found = npyFound(h.rows, h.cols, h.dtype, h.dataBytes, false, options);
    return { records: [makeLazyRecord(path, 'npy', found, source, options)], close: () => file.close() };
  } catch (error) {
    await file.close();
    throw error;
  }
}

function npyFound(rows: number, cols: number, dtype: NpyDtype, dataBytes: number, fortranOrder: boolean, options: ReadOptions) {
  return {
    name: options.name ?? options.config?.name ?? 'embedding',
    rows,
    cols,
    location: 'array',
    storedDtype: dtype,
    storedBytes: dataBytes,
    fileConfig: null,
    sourceConfig: null,
    notes: fortranOrder ? ['the array was stored in Fortran (column-major) order and was transposed to row-major.'] : [],
  };
}

/** Options of {@link writeNpy}. */
export interface WriteNpyOptions {
  /** Element type to store. Default `'float32'` (bit-exact). */
  readonly dtype?: NpyDtype;
}

/** Writes the matrix as a .npy file, atomically. The config is not stored (.npy holds only the array). */
export async function writeNpy(path: string, data: EmbeddingData, options: WriteNpyOptions = {}): Promise<void> {
  await writeNpyRows(path, data.config.inputDim, data.config.outputDim, arrayRows(data.weights, data.config.outputDim), options);
}

/**
 * @internal {@link writeNpy} from a reader of row ranges (a layer's `readMergedRows`): the
 * header, then the table a chunk of rows at a time, with no copy of the whole table. Atomic.
 */
export async function writeNpyRows(
  path: string,
  rows: number,
  cols: number,
  readRows: RowReader,
  options: WriteNpyOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? 'float32';
  await atomicWriteFiles([
    {
      path,
      write: (temp) =>
        writeInPieces(temp, async (append) => {
          await append(npyHeaderBytes(rows, cols, dtype));
          await forEachChunk(rows, cols, readRows, (values) => append(npyValueBytes(values, dtype)));
        }),
    },
  ]);
}
