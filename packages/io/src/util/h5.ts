import { rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EmbeddingError } from '@embedding-layer/core';
import type { Group, File as H5File } from 'h5wasm';
import h5wasm from 'h5wasm/node';
import { badFile } from '../errors.js';
import type { StoredDtype } from '../types.js';
import { decodeHalf } from './float.js';
import { readRange } from './fs.js';
import { type H5NodeInfo, type H5ScanWant, readH5Datasets, scanH5File } from './h5-worker.js';

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

/** @internal An HDF5 file as the worker scanned it: every group and dataset, with attributes; values are read on request. */
export class H5Snapshot {
  private readonly byPath: Map<string, H5NodeInfo>;
  constructor(
    /** Path on disk. */
    readonly path: string,
    /** How errors name the file. */
    readonly shownAs: string,
    readonly nodes: readonly H5NodeInfo[],
    /** Size of the file in bytes (the most any unfiltered dataset can hold). */
    readonly fileBytes: number,
  ) {
    this.byPath = new Map(nodes.map((n) => [n.path, n]));
  }
  /** The group or dataset at `path` (relative to the root, no leading slash). */
  get(path: string): H5NodeInfo | undefined {
    return this.byPath.get(path.replace(/^\/+/, ''));
  }
  /** Names of the children of the group at `path`. */
  keys(path = ''): string[] {
    const prefix = path === '' ? '' : `${path}/`;
    return this.nodes
      .filter((n) => n.path !== '' && n.path.startsWith(prefix) && !n.path.slice(prefix.length).includes('/'))
      .map((n) => n.path.slice(prefix.length));
  }
  /** Every group and dataset below `path` (depth first, as scanned), with paths relative to it. */
  below(path = ''): { rel: string; node: H5NodeInfo }[] {
    const prefix = path === '' ? '' : `${path}/`;
    return this.nodes.filter((n) => n.path !== '' && n.path.startsWith(prefix)).map((n) => ({ rel: n.path.slice(prefix.length), node: n }));
  }
}

/** @internal Opens an HDF5 file for reading (signature checked first, so a wrong file gets a clear error) and scans it in the worker. */
export async function openH5(path: string, shownAs: string, want: H5ScanWant): Promise<H5Snapshot> {
  const head = await readRange(path, 0, 8).catch(() => {
    throw badFile(shownAs, 'not an HDF5 file: it is shorter than the 8-byte HDF5 signature.');
  });
  if (!isHdf5Signature(head)) throw badFile(shownAs, 'not an HDF5 file: expected the signature "\\x89HDF\\r\\n\\x1a\\n" at the start.');
  const size = (await stat(path)).size;
  return new H5Snapshot(path, shownAs, await scanH5File(path, shownAs, want), size);
}

/** @internal Runs `fn` on a scanned HDF5 file; any error that is not already typed becomes a BadFileError. */
export async function withH5<T>(path: string, shownAs: string, want: H5ScanWant, fn: (file: H5Snapshot) => T | Promise<T>): Promise<T> {
  const file = await openH5(path, shownAs, want);
  try {
    return await fn(file);
  } catch (error) {
    if (EmbeddingError.isInstance(error)) throw error;
    throw badFile(shownAs, `HDF5 read failed (damaged or truncated file): ${String((error as Error)?.message ?? error)}`, error);
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
export function stringAttr(node: H5NodeInfo | undefined, name: string): string | undefined {
  const value = node?.attrs[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  return undefined;
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
export async function readH5Matrix(file: H5Snapshot, dataset: H5NodeInfo, location: string): Promise<H5Matrix> {
  const shown = file.shownAs;
  const shape = dataset.shape ?? [];
  if (shape.length !== 2)
    throw badFile(shown, `dataset ${location}: expected a 2-D (input_dim, output_dim) matrix, found shape ${JSON.stringify(shape)}.`);
  const [rows, cols] = shape as [number, number];
  const meta = dataset.metadata;
  const FLOAT_CLASS = 1;
  if (!meta || meta.type !== FLOAT_CLASS || ![2, 4, 8].includes(meta.size))
    throw badFile(
      shown,
      `dataset ${location}: expected float16, float32 or float64 values, found HDF5 type ${JSON.stringify(dataset.dtype)}.`,
    );
  const count = rows * cols;
  const [value] = await readH5Values(file, [{ node: dataset, claimedBytes: count * meta.size }]);
  let weights: Float32Array;
  if (value instanceof Float32Array) weights = value;
  else if (value instanceof Float64Array) weights = Float32Array.from(value);
  else if (meta.size === 2 && value instanceof Uint8Array) weights = decodeHalf(value, count, meta.littleEndian);
  else if (meta.size === 2 && value instanceof Uint16Array)
    weights = decodeHalf(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), count, true);
  else
    throw badFile(
      shown,
      `dataset ${location}: h5wasm returned ${Object.prototype.toString.call(value)} for dtype ${JSON.stringify(dataset.dtype)}.`,
    );
  if (weights.length !== count) throw badFile(shown, `dataset ${location}: holds ${weights.length} values, its shape says ${count}.`);
  const storedDtype: StoredDtype = meta.size === 2 ? 'float16' : meta.size === 4 ? 'float32' : 'float64';
  return { weights, rows, cols, storedDtype, storedBytes: count * meta.size };
}

/**
 * @internal Largest dataset (in bytes) read from an HDF5 file, relative to the file: a dataset
 * stored without filters cannot hold more bytes than the file; a compressed one may, up to this
 * ratio. A header that claims more is refused before anything is allocated.
 */
export const H5_MAX_EXPANSION = 1024;

/** @internal Reads datasets' values after checking the size each header claims against the file. */
export async function readH5Values(file: H5Snapshot, items: readonly { node: H5NodeInfo; claimedBytes: number }[]): Promise<unknown[]> {
  for (const { node, claimedBytes } of items) {
    const limit = node.filtered ? file.fileBytes * H5_MAX_EXPANSION : file.fileBytes;
    if (!Number.isSafeInteger(claimedBytes) || claimedBytes < 0 || claimedBytes > limit)
      throw badFile(
        file.shownAs,
        `dataset ${node.path}: its header claims shape ${JSON.stringify(node.shape)} (${claimedBytes} bytes), more than the ${file.fileBytes}-byte file can hold${node.filtered ? ` compressed ${H5_MAX_EXPANSION}:1` : ''}.`,
      );
  }
  return readH5Datasets(
    file.path,
    file.shownAs,
    items.map((i) => i.node.path),
  );
}

/** @internal Writes a fixed-length ASCII string-list attribute, as h5py writes numpy 'S' arrays (Keras's `layer_names`, `weight_names`). */
export function writeStringListAttr(node: Group, name: string, values: readonly string[]): void {
  const size = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8')));
  node.create_attribute(name, [...values], [values.length], `A${size}`);
}
