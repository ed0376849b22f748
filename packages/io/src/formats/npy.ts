import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord, StoredDtype } from '../types.js';
import { decodeFloat32, decodeFloat64, decodeHalf, encodeHalf, float32Bytes } from '../util/float.js';
import { atomicWrite, readWhole } from '../util/fs.js';
import { checkMatrixShape, makeRecord, type ReadOptions } from './common.js';

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

/** Element types {@link encodeNpy} writes. */
export type NpyDtype = 'float32' | 'float16' | 'float64';

/**
 * Decodes a 2-D float .npy file (`<f4`, `<f2`, `<f8`, either byte order, C or Fortran order)
 * into a row-major float32 matrix. Throws `BadFileError` naming `file` for anything else.
 */
export function decodeNpy(bytes: Uint8Array, file = '<npy>'): NpyMatrix {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b))
    throw badFile(file, 'not a .npy file: expected the magic bytes "\\x93NUMPY" at the start.');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major < 1 || major > 3) throw badFile(file, `unsupported .npy version ${major}.${bytes[7]}; expected 1.0, 2.0 or 3.0.`);
  const headerLen = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : Number.POSITIVE_INFINITY;
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw badFile(file, `truncated: the header says ${headerLen} bytes, the file has ${bytes.length} in all.`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
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
  const littleEndian = match[1] !== '>';
  const size = Number(match[2]);
  const count = rows * cols;
  const dataBytes = count * size;
  if (bytes.length - dataStart < dataBytes)
    throw badFile(
      file,
      `truncated: shape [${rows}, ${cols}] of ${descr} needs ${dataBytes} bytes of data, the file has ${bytes.length - dataStart}.`,
    );
  const raw = bytes.subarray(dataStart, dataStart + dataBytes);
  let data =
    size === 4
      ? decodeFloat32(raw, count, littleEndian)
      : size === 2
        ? decodeHalf(raw, count, littleEndian)
        : decodeFloat64(raw, count, littleEndian);
  const fortranOrder = fortran === 'True';
  if (fortranOrder) {
    const rowMajor = new Float32Array(count);
    for (let c = 0; c < cols; c++) {
      const column = c * rows;
      for (let r = 0; r < rows; r++) rowMajor[r * cols + c] = data[column + r]!;
    }
    data = rowMajor;
  }
  const dtype = size === 4 ? 'float32' : size === 2 ? 'float16' : 'float64';
  return { data, shape: [rows, cols], dtype, fortranOrder, dataBytes };
}

/**
 * Encodes a row-major matrix as a version 1.0 .npy file in C order, as `numpy.save` writes it
 * (header padded with spaces to a multiple of 64 bytes, ending in a newline).
 */
export function encodeNpy(data: Float32Array, rows: number, cols: number, dtype: NpyDtype = 'float32'): Uint8Array {
  const descr = dtype === 'float32' ? '<f4' : dtype === 'float16' ? '<f2' : '<f8';
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = `${dict}${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const body =
    dtype === 'float32' ? float32Bytes(data) : dtype === 'float16' ? encodeHalf(data) : new Uint8Array(Float64Array.from(data).buffer);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

/** Reads a .npy file as one Embedding record (the file holds only the matrix; dims come from its shape). */
export async function readNpy(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  return readNpyBytes(await readWhole(path, options.onProgress), path, options);
}

/** @internal {@link readNpy} on a file held in memory (`path` names it in errors). */
export function readNpyBytes(bytes: Uint8Array, path: string, options: ReadOptions = {}): EmbeddingRecord[] {
  const npy = decodeNpy(bytes, path);
  const name = options.name ?? options.config?.name ?? 'embedding';
  return [
    makeRecord(
      path,
      'npy',
      {
        name,
        weights: npy.data,
        rows: npy.shape[0],
        cols: npy.shape[1],
        location: 'array',
        storedDtype: npy.dtype,
        storedBytes: npy.dataBytes,
        fileConfig: null,
        sourceConfig: null,
        notes: npy.fortranOrder ? ['the array was stored in Fortran (column-major) order and was transposed to row-major.'] : [],
      },
      options,
    ),
  ];
}

/** Options of {@link writeNpy}. */
export interface WriteNpyOptions {
  /** Element type to store. Default `'float32'` (bit-exact). */
  readonly dtype?: NpyDtype;
}

/** Writes the matrix as a .npy file, atomically. The config is not stored (.npy holds only the array). */
export async function writeNpy(path: string, data: EmbeddingData, options: WriteNpyOptions = {}): Promise<void> {
  await atomicWrite(path, encodeNpy(data.weights, data.config.inputDim, data.config.outputDim, options.dtype));
}
