import { EmbeddingError } from '@embedding-layer/core';
import type { Group, File as H5File } from 'h5wasm';
import h5wasm from 'h5wasm';
import { badFile } from '../errors.js';
import type { StoredDtype } from '../types.js';
import { decodeHalf } from './float.js';
import { readWhole } from './fs.js';
import { type H5NodeInfo, type H5ScanWant, type H5Session, withH5Session } from './h5-worker.js';
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
  if (bytes.length < 8) throw badFile(shownAs, 'not an HDF5 file: it is shorter than the 8-byte HDF5 signature.');
  if (!isHdf5Signature(bytes)) throw badFile(shownAs, 'not an HDF5 file: expected the signature "\\x89HDF\\r\\n\\x1a\\n" at the start.');
  return withH5Session(bytes, shownAs, async (session) => {
    const file = new H5Snapshot(session, shownAs, await session.scan(want), bytes.byteLength);
    try {
      return await fn(file);
    } catch (error) {
      if (EmbeddingError.isInstance(error)) throw error;
      throw badFile(shownAs, `HDF5 read failed (damaged or truncated file): ${String((error as Error)?.message ?? error)}`, error);
    }
  });
}

/** @internal {@link withH5Bytes} on a file on disk (read whole, as a regular file, into memory). */
export async function withH5<T>(path: string, shownAs: string, want: H5ScanWant, fn: (file: H5Snapshot) => T | Promise<T>): Promise<T> {
  return withH5Bytes(await readWhole(path), shownAs, want, fn);
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
  // One budget per load: each dataset is read once, and the datasets read in all claim no more
  // than the file can hold (unfiltered) or H5_MAX_EXPANSION times it (compressed).
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
  return file.session.read(items.map((i) => i.node.path));
}

/** @internal Writes a fixed-length ASCII string-list attribute, as h5py writes numpy 'S' arrays (Keras's `layer_names`, `weight_names`). */
export function writeStringListAttr(node: Group, name: string, values: readonly string[]): void {
  const size = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8')));
  node.create_attribute(name, [...values], [values.length], `A${size}`);
}
