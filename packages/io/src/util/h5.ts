import { type FileHandle, open } from 'node:fs/promises';
import { EmbeddingError, type RowSource } from '@embedding-layer/core';
import { chunkRowsFor, rowSource } from '@embedding-layer/core/backend';
import type { Group, File as H5File } from 'h5wasm';
import h5wasm from 'h5wasm';
import { badFile } from '../errors.js';
import type { ProgressCallback, StoredDtype } from '../types.js';
import { decodeHalf } from './float.js';
import { openRegular } from './fs.js';
import {
  type H5BuildStep,
  type H5Input,
  type H5NodeInfo,
  type H5ScanWant,
  type H5Session,
  type H5Writer,
  openH5Session,
  withH5Writer,
} from './h5-worker.js';
import { showValue } from './json.js';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** @internal True when `bytes` start with the HDF5 signature. */
export function isHdf5Signature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** @internal An HDF5 file as the worker scanned it: every group and dataset, with attributes; values are read on request. */
export class H5Snapshot {
  private readonly byPath: Map<string, H5NodeInfo>;
  /** Datasets read so far in this load, and the bytes they claimed (unfiltered, filtered): one budget per load. */
  readonly spent = { datasets: new Set<string>(), plain: 0, filtered: 0 };
  constructor(
    /** The open file in the worker. */
    readonly session: H5Session,
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

/**
 * @internal Runs `fn` on HDF5 bytes held in memory, scanned in the worker (signature checked
 * first, so a wrong file gets a clear error); any error that is not already typed becomes a
 * BadFileError. The HDF5 library sees these bytes and nothing else.
 */
export async function withH5Bytes<T>(
  bytes: Uint8Array,
  shownAs: string,
  want: H5ScanWant,
  fn: (file: H5Snapshot) => T | Promise<T>,
): Promise<T> {
  checkSignature(bytes, shownAs);
  return withOpenH5(await openH5Snapshot({ bytes }, shownAs, want), fn);
}

function checkSignature(head: Uint8Array, shownAs: string): void {
  if (head.length < 8) throw badFile(shownAs, 'not an HDF5 file: it is shorter than the 8-byte HDF5 signature.');
  if (!isHdf5Signature(head)) throw badFile(shownAs, 'not an HDF5 file: expected the signature "\\x89HDF\\r\\n\\x1a\\n" at the start.');
}

/** @internal An HDF5 file scanned in the worker and held open until `close()`. */
export interface OpenH5 {
  readonly file: H5Snapshot;
  close(): Promise<void>;
}

async function openH5Snapshot(input: H5Input, shownAs: string, want: H5ScanWant): Promise<OpenH5> {
  const session = await openH5Session(input, shownAs);
  try {
    const size = 'bytes' in input ? input.bytes.byteLength : input.size;
    return { file: new H5Snapshot(session, shownAs, await session.scan(want), size), close: () => session.close() };
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** @internal Runs `fn` on an opened HDF5 file and closes it; an error that is not already typed becomes a BadFileError. */
export async function withOpenH5<T>(opened: OpenH5, fn: (file: H5Snapshot) => T | Promise<T>): Promise<T> {
  try {
    return await fn(opened.file);
  } catch (error) {
    if (EmbeddingError.isInstance(error)) throw error;
    throw badFile(
      opened.file.shownAs,
      `HDF5 read failed (damaged or truncated file): ${String((error as Error)?.message ?? error)}`,
      error,
    );
  } finally {
    await opened.close();
  }
}

/**
 * @internal Opens the `size` bytes at `offset` of an open file as an HDF5 file in the worker (read
 * in place, page by page: nothing is copied whole), checks its signature and scans it. The
 * handle stays the caller's: close the result first, then the handle.
 */
export async function openH5Range(handle: FileHandle, offset: number, size: number, shownAs: string, want: H5ScanWant): Promise<OpenH5> {
  const head = new Uint8Array(Math.min(8, size));
  const { bytesRead } = await handle.read(head, 0, head.length, offset);
  checkSignature(head.subarray(0, bytesRead), shownAs);
  return openH5Snapshot({ fd: handle.fd, offset, size }, shownAs, want);
}

/** @internal {@link withH5Bytes} on a file on disk, read in place by the worker (never copied whole). */
export async function withH5<T>(path: string, shownAs: string, want: H5ScanWant, fn: (file: H5Snapshot) => T | Promise<T>): Promise<T> {
  const { handle, size } = await openRegular(path, shownAs);
  try {
    return await withOpenH5(await openH5Range(handle, 0, size, shownAs, want), fn);
  } finally {
    await handle.close();
  }
}

/** @internal {@link withH5} held open: the tables of a file for streaming reads; `close()` closes the worker's file, then the descriptor. */
export async function openH5(path: string, shownAs: string, want: H5ScanWant): Promise<OpenH5> {
  const { handle, size } = await openRegular(path, shownAs);
  try {
    const opened = await openH5Range(handle, 0, size, shownAs, want);
    return {
      file: opened.file,
      close: async () => {
        try {
          await opened.close();
        } finally {
          await handle.close();
        }
      },
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

let scratch = 0;

/**
 * @internal Creates an HDF5 file in h5wasm's in-memory filesystem, fills it, closes it and
 * returns its bytes (nothing touches the host filesystem; the caller writes the bytes).
 */
export async function createH5Bytes(fill: (file: H5File) => void): Promise<Uint8Array> {
  const { FS } = (await h5wasm.ready) as unknown as { FS: EmscriptenFs };
  const name = `/embedding-layer-write-${++scratch}.h5`;
  const file = new h5wasm.File(name, 'w');
  try {
    fill(file);
    file.close();
    return FS.readFile(name);
  } catch (error) {
    try {
      file.close();
    } catch {
      // already closed
    }
    throw error;
  } finally {
    try {
      FS.unlink(name);
    } catch {
      // never created
    }
  }
}

interface EmscriptenFs {
  readFile(path: string): Uint8Array;
  unlink(path: string): void;
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

/** @internal What a 2-D float dataset holds, checked from its metadata (nothing read yet). */
export interface H5MatrixInfo {
  rows: number;
  cols: number;
  /** Bytes per stored value (2, 4 or 8). */
  size: 2 | 4 | 8;
  littleEndian: boolean;
  storedDtype: StoredDtype;
  storedBytes: number;
}

/** @internal Checks that a dataset is a 2-D float16, float32 or float64 matrix; anything else is a BadFileError. */
export function h5MatrixInfo(file: H5Snapshot, dataset: H5NodeInfo, location: string): H5MatrixInfo {
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
  const size = meta.size as 2 | 4 | 8;
  const storedDtype: StoredDtype = size === 2 ? 'float16' : size === 4 ? 'float32' : 'float64';
  return { rows, cols, size, littleEndian: meta.littleEndian, storedDtype, storedBytes: rows * cols * size };
}

/** Float32 values of `count` elements as h5wasm returned them for a float dataset of `info`. */
function floatValues(value: unknown, info: H5MatrixInfo, count: number, shown: string, location: string, dtype: unknown): Float32Array {
  let out: Float32Array;
  if (value instanceof Float32Array) out = value;
  else if (value instanceof Float64Array) out = Float32Array.from(value);
  else if (info.size === 2 && value instanceof Uint8Array) out = decodeHalf(value, count, info.littleEndian);
  else if (info.size === 2 && value instanceof Uint16Array)
    out = decodeHalf(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), count, true);
  else
    throw badFile(
      shown,
      `dataset ${location}: h5wasm returned ${Object.prototype.toString.call(value)} for dtype ${JSON.stringify(dtype)}.`,
    );
  if (out.length !== count) throw badFile(shown, `dataset ${location}: a read gave ${out.length} values, expected ${count}.`);
  return out;
}

/**
 * @internal Rows of a checked 2-D float dataset as a {@link RowSource}: each read is one
 * hyperslab of the dataset (HDF5 reads just those rows' pages, or the chunks that hold them for a
 * chunked or compressed dataset), decoded to float32. The dataset must have been claimed
 * ({@link claimH5Datasets}) first. Progress is reported in stored bytes.
 */
export function h5MatrixSource(
  file: H5Snapshot,
  dataset: H5NodeInfo,
  location: string,
  info: H5MatrixInfo,
  onProgress?: ProgressCallback,
): RowSource {
  const rowBytes = info.cols * info.size;
  let done = 0;
  return rowSource(info.rows, info.cols, async (start, count) => {
    const value = await file.session.slice(dataset.path, start, count);
    const out = floatValues(value, info, count * info.cols, file.shownAs, location, dataset.dtype);
    done = Math.min(info.storedBytes, done + count * rowBytes);
    onProgress?.(done, info.storedBytes);
    return out;
  });
}

/**
 * @internal Reads a 2-D float dataset (float16, float32 or float64) into float32, a hyperslab of
 * about 16 MiB of rows at a time into the one output array (the worker never holds the whole
 * table); anything else is a BadFileError.
 */
export async function readH5Matrix(file: H5Snapshot, dataset: H5NodeInfo, location: string): Promise<H5Matrix> {
  const info = h5MatrixInfo(file, dataset, location);
  claimH5Datasets(file, [{ node: dataset, claimedBytes: info.storedBytes }]);
  const source = h5MatrixSource(file, dataset, location, info);
  const { rows, cols } = info;
  const weights = new Float32Array(rows * cols);
  const chunk = chunkRowsFor(cols);
  for (let start = 0; start < rows; start += chunk) {
    const count = Math.min(chunk, rows - start);
    weights.set(await source.read(start, count), start * cols);
  }
  return { weights, rows, cols, storedDtype: info.storedDtype, storedBytes: info.storedBytes };
}

/**
 * @internal Largest dataset (in bytes) read from an HDF5 file, relative to the file: a dataset
 * stored without filters cannot hold more bytes than the file; a compressed one may, up to this
 * ratio. A header that claims more is refused before anything is allocated.
 */
export const H5_MAX_EXPANSION = 1024;

/**
 * @internal Checks the size each dataset's header claims against the file, and records the
 * claim in the load's one budget: each dataset is read once, and the datasets read in all claim
 * no more than the file can hold (unfiltered) or H5_MAX_EXPANSION times it (compressed). Nothing
 * is read; a BadFileError before anything is allocated.
 */
export function claimH5Datasets(file: H5Snapshot, items: readonly { node: H5NodeInfo; claimedBytes: number }[]): void {
  let plain = file.spent.plain;
  let filtered = file.spent.filtered;
  const paths = new Set<string>();
  for (const { node, claimedBytes } of items) {
    if (file.spent.datasets.has(node.path) || paths.has(node.path))
      throw badFile(
        file.shownAs,
        `dataset ${showValue(node.path)} is used by more than one layer; each layer's weights are its own dataset (a crafted model_config?).`,
      );
    paths.add(node.path);
    const limit = node.filtered ? file.fileBytes * H5_MAX_EXPANSION : file.fileBytes;
    if (node.filtered) filtered += claimedBytes;
    else plain += claimedBytes;
    if (!Number.isSafeInteger(claimedBytes) || claimedBytes < 0 || claimedBytes > limit)
      throw badFile(
        file.shownAs,
        `dataset ${node.path}: its header claims shape ${showValue(node.shape)} (${claimedBytes} bytes), more than the ${file.fileBytes}-byte file can hold${node.filtered ? ` compressed ${H5_MAX_EXPANSION}:1` : ''}.`,
      );
    if (plain > file.fileBytes || filtered > file.fileBytes * H5_MAX_EXPANSION)
      throw badFile(
        file.shownAs,
        `the datasets read claim ${plain + filtered} bytes in all, more than the ${file.fileBytes}-byte file can hold${node.filtered ? ` compressed ${H5_MAX_EXPANSION}:1` : ''}.`,
      );
  }
  for (const path of paths) file.spent.datasets.add(path);
  file.spent.plain = plain;
  file.spent.filtered = filtered;
}

/** @internal Reads datasets' values whole after {@link claimH5Datasets}. */
export async function readH5Values(file: H5Snapshot, items: readonly { node: H5NodeInfo; claimedBytes: number }[]): Promise<unknown[]> {
  claimH5Datasets(file, items);
  return file.session.read(items.map((i) => i.node.path));
}

/** @internal Writes a fixed-length ASCII string-list attribute, as h5py writes numpy 'S' arrays (Keras's `layer_names`, `weight_names`). */
export function writeStringListAttr(node: Group, name: string, values: readonly string[]): void {
  const size = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8')));
  node.create_attribute(name, [...values], [values.length], `A${size}`);
}

/** @internal {@link writeStringListAttr} as a build step for the worker (the same attribute, byte for byte). */
export function stringListAttrStep(path: string, name: string, values: readonly string[]): H5BuildStep {
  const size = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8')));
  return { op: 'attr', path, name, value: [...values], shape: [values.length], dtype: `A${size}` };
}

/**
 * @internal Creates the file `tempPath` (it must not exist) and has the HDF5 worker write a new
 * HDF5 file into it with `fn` (see {@link withH5Writer}); `shownAs` names it in errors,
 * `expectedBytes` (about its size) scales the worker's CPU-time limit. For the temp file of an
 * atomic write: on failure the caller removes it.
 */
export async function writeH5File(
  tempPath: string,
  shownAs: string,
  expectedBytes: number,
  fn: (writer: H5Writer) => Promise<void>,
): Promise<number> {
  const handle = await open(tempPath, 'wx');
  try {
    return await withH5Writer({ fd: handle.fd, offset: 0 }, shownAs, expectedBytes, fn);
  } finally {
    await handle.close();
  }
}
