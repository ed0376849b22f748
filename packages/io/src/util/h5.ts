import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EmbeddingError } from '@embedding-layer/core';
import type { Dataset, Group, File as H5File } from 'h5wasm';
import h5wasm from 'h5wasm/node';
import { badFile } from '../errors.js';
import type { StoredDtype } from '../types.js';
import { decodeHalf } from './float.js';
import { readRange } from './fs.js';

/** @internal The h5wasm module, once its WebAssembly is ready. */
export async function h5(): Promise<typeof h5wasm> {
  await h5wasm.ready;
  return h5wasm;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** @internal True when `bytes` start with the HDF5 signature. */
export function isHdf5Signature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** @internal Opens an HDF5 file for reading, after checking its signature so a wrong file gets a clear error. */
export async function openH5(path: string, shownAs = path): Promise<H5File> {
  const head = await readRange(path, 0, 8).catch(() => {
    throw badFile(shownAs, 'not an HDF5 file: it is shorter than the 8-byte HDF5 signature.');
  });
  if (!isHdf5Signature(head)) throw badFile(shownAs, 'not an HDF5 file: expected the signature "\\x89HDF\\r\\n\\x1a\\n" at the start.');
  const lib = await h5();
  try {
    return new lib.File(resolve(path), 'r');
  } catch (error) {
    throw badFile(shownAs, `HDF5 could not open it (damaged or truncated): ${String((error as Error)?.message ?? error)}`, error);
  }
}

/** @internal Runs `fn` on an open HDF5 file and closes it, whatever happens. */
export async function withH5<T>(path: string, shownAs: string, fn: (file: H5File) => T | Promise<T>): Promise<T> {
  const file = await openH5(path, shownAs);
  try {
    return await fn(file);
  } catch (error) {
    if (EmbeddingError.isInstance(error)) throw error;
    throw badFile(shownAs, `HDF5 read failed (damaged or truncated file): ${String((error as Error)?.message ?? error)}`, error);
  } finally {
    file.close();
  }
}

/** @internal Creates an HDF5 file at `tempPath`, fills it, closes it; removes it on failure. */
export async function createH5(tempPath: string, fill: (file: H5File) => void): Promise<void> {
  const lib = await h5();
  const file = new lib.File(resolve(tempPath), 'w');
  try {
    fill(file);
  } catch (error) {
    file.close();
    await rm(tempPath, { force: true });
    throw error;
  }
  file.close();
}

/** @internal A string attribute (vlen or fixed, str or bytes), or undefined. */
export function stringAttr(node: Group | Dataset, name: string): string | undefined {
  const attr = node.attrs[name];
  if (!attr) return undefined;
  const value = attr.json_value;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** @internal A string-list attribute (`layer_names`, `weight_names`), or undefined. */
export function stringListAttr(node: Group | Dataset, name: string): string[] | undefined {
  const attr = node.attrs[name];
  if (!attr) return undefined;
  const value = attr.json_value;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return [value];
  return undefined;
}

/** @internal Visits every dataset and group below `group`, depth first, with its path relative to `group`. */
export function walkH5(group: Group, visit: (relPath: string, node: Dataset | Group) => void, prefix = ''): void {
  for (const key of group.keys()) {
    const node = group.get(key);
    const rel = prefix ? `${prefix}/${key}` : key;
    if (node && (node as Dataset).type === 'Dataset') visit(rel, node as Dataset);
    else if (node && (node as Group).type === 'Group') {
      visit(rel, node as Group);
      walkH5(node as Group, visit, rel);
    }
  }
}

/** @internal A 2-D float dataset as a row-major float32 matrix. */
export interface H5Matrix {
  weights: Float32Array;
  rows: number;
  cols: number;
  storedDtype: StoredDtype;
  storedBytes: number;
}

/** @internal Reads a 2-D float dataset (float16, float32 or float64) into float32; anything else is a BadFileError. */
export function readH5Matrix(dataset: Dataset, file: string, location: string, fileBytes: number): H5Matrix {
  const shape = dataset.shape ?? [];
  if (shape.length !== 2)
    throw badFile(file, `dataset ${location}: expected a 2-D (input_dim, output_dim) matrix, found shape ${JSON.stringify(shape)}.`);
  const [rows, cols] = shape as [number, number];
  const meta = dataset.metadata;
  const FLOAT_CLASS = 1;
  if (meta.type !== FLOAT_CLASS || ![2, 4, 8].includes(meta.size))
    throw badFile(
      file,
      `dataset ${location}: expected float16, float32 or float64 values, found HDF5 type ${JSON.stringify(dataset.dtype)}.`,
    );
  const count = rows * cols;
  const value = readH5Value(dataset, file, location, count * meta.size, fileBytes);
  let weights: Float32Array;
  if (value instanceof Float32Array) weights = value;
  else if (value instanceof Float64Array) weights = Float32Array.from(value);
  else if (meta.size === 2 && value instanceof Uint8Array) weights = decodeHalf(value, count, meta.littleEndian);
  else if (meta.size === 2 && value instanceof Uint16Array)
    weights = decodeHalf(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), count, true);
  else
    throw badFile(
      file,
      `dataset ${location}: h5wasm returned ${Object.prototype.toString.call(value)} for dtype ${JSON.stringify(dataset.dtype)}.`,
    );
  if (weights.length !== count) throw badFile(file, `dataset ${location}: holds ${weights.length} values, its shape says ${count}.`);
  const storedDtype: StoredDtype = meta.size === 2 ? 'float16' : meta.size === 4 ? 'float32' : 'float64';
  return { weights, rows, cols, storedDtype, storedBytes: count * meta.size };
}

/**
 * @internal Largest dataset (in bytes) read from an HDF5 file, relative to the file: a dataset
 * stored without filters cannot hold more bytes than the file; a compressed one may, up to this
 * ratio. A header that claims more is refused before anything is allocated.
 */
export const H5_MAX_EXPANSION = 1024;

/** @internal Reads a dataset's values after checking the size its header claims against the file. */
export function readH5Value(dataset: Dataset, file: string, location: string, claimedBytes: number, fileBytes: number): unknown {
  let filtered = false;
  try {
    filtered = (dataset.filters ?? []).length > 0;
  } catch {
    filtered = false;
  }
  const limit = filtered ? fileBytes * H5_MAX_EXPANSION : fileBytes;
  if (!Number.isSafeInteger(claimedBytes) || claimedBytes > limit)
    throw badFile(
      file,
      `dataset ${location}: its header claims shape ${JSON.stringify(dataset.shape)} (${claimedBytes} bytes), more than the ${fileBytes}-byte file can hold${filtered ? ` compressed ${H5_MAX_EXPANSION}:1` : ''}.`,
    );
  try {
    return dataset.value;
  } catch (error) {
    throw badFile(
      file,
      `dataset ${location} could not be read (damaged or truncated): ${String((error as Error)?.message ?? error)}`,
      error,
    );
  }
}

/** @internal Writes a fixed-length ASCII string-list attribute, as h5py writes numpy 'S' arrays (Keras's `layer_names`, `weight_names`). */
export function writeStringListAttr(node: Group, name: string, values: readonly string[]): void {
  const size = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8')));
  node.create_attribute(name, [...values], [values.length], `A${size}`);
}
