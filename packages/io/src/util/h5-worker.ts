import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { badFile } from '../errors.js';

/*
 * HDF5 files are read in a worker thread. The HDF5 library (h5wasm) can loop forever on a
 * damaged file (the fuzzer found an attribute whose corrupted header never returns), and a loop
 * inside WebAssembly cannot be interrupted on the thread that runs it. In a worker it can: a
 * request that does not answer within the time limit terminates the worker (a new one is
 * started for the next request) and fails as a BadFileError.
 *
 * The worker answers two requests: `scan` (every group and dataset below the root: path, type,
 * attributes as JSON values, dataset shape, type metadata and whether it has filters) and
 * `read` (the values of named datasets). Its source is a string, so it runs the same from the
 * TypeScript sources and from the bundle.
 */

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// h5wasm prints the HDF5 error stack (HDF5-DIAG) through console.error on every damaged file;
// the BadFileError carries what matters. Silenced before h5wasm binds it.
console.error = () => {};
const ready = import(workerData.h5wasmUrl).then(async (m) => { const h5 = m.default ?? m; await h5.ready; return h5; });
function scan(file, want) {
  const nodes = [];
  const detail = new RegExp(want.datasets);
  const attrs = (node) => {
    const out = {};
    const names = node.attr_names ? node.attr_names() : Object.keys(node.attrs);
    for (const name of names) {
      if (!want.attrs.includes(name)) continue;
      let value = null;
      try { value = node.attrs[name].json_value; } catch (e) { value = null; }
      out[name] = value;
    }
    return out;
  };
  nodes.push({ path: '', type: 'Group', attrs: attrs(file) });
  const walk = (group, prefix, depth) => {
    if (depth > 64) throw new Error('groups nested more than 64 deep (a cycle?)');
    for (const key of group.keys()) {
      const node = group.get(key);
      const path = prefix ? prefix + '/' + key : key;
      if (!node) continue;
      if (node.type === 'Group') {
        nodes.push({ path, type: 'Group', attrs: attrs(node) });
        if (nodes.length > 100000) throw new Error('more than 100000 objects');
        walk(node, path, depth + 1);
      } else if (node.type === 'Dataset') {
        if (!detail.test(path)) { nodes.push({ path, type: 'Dataset', attrs: {} }); continue; }
        let filtered = false;
        try { filtered = (node.filters ?? []).length > 0; } catch (e) { filtered = false; }
        const m = node.metadata;
        nodes.push({ path, type: 'Dataset', attrs: attrs(node), shape: node.shape, dtype: node.dtype,
          metadata: { type: m.type, size: m.size, signed: m.signed, littleEndian: m.littleEndian }, filtered });
      }
    }
  };
  walk(file, '', 0);
  return nodes;
}
parentPort.on('message', async (msg) => {
  let file;
  try {
    const h5 = await ready;
    file = new h5.File(msg.path, 'r');
    if (msg.op === 'scan') {
      parentPort.postMessage({ id: msg.id, ok: true, result: scan(file, msg.want) });
    } else {
      const values = msg.datasets.map((d) => {
        const node = file.get(d);
        if (!node || node.type !== 'Dataset') throw new Error('no dataset ' + d);
        return node.value;
      });
      const transfer = values.filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer);
      parentPort.postMessage({ id: msg.id, ok: true, result: values }, transfer);
    }
  } catch (error) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String((error && error.message) || error) });
  } finally {
    try { if (file) file.close(); } catch (e) {}
  }
});
`;

/** @internal Time limit of one HDF5 request (scan or read) before it is treated as a hang, and how many worker threads read HDF5 files concurrently. */
export const h5WorkerLimits = { timeoutMs: 60_000, workers: 1 };

function h5wasmUrl(): string {
  try {
    const meta = import.meta as ImportMeta & { resolve?: (s: string) => string };
    if (typeof meta.resolve === 'function') return meta.resolve('h5wasm/node');
  } catch {
    // fall through to a search of node_modules
  }
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths('h5wasm') ?? []) {
    const file = join(dir, 'h5wasm', 'dist', 'node', 'hdf5_hl.js');
    if (existsSync(file)) return pathToFileURL(file).href;
  }
  throw new Error('cannot find the h5wasm package (h5wasm/node).');
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One worker and the request it is running (requests run one at a time per worker, so a timeout blames the right file). */
interface Slot {
  worker?: Worker;
  pending: Map<number, Pending>;
  queue: Promise<unknown>;
}

let nextId = 1;
const slots: Slot[] = [];

function getWorker(slot: Slot): Worker {
  if (slot.worker) return slot.worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { h5wasmUrl: h5wasmUrl() } });
  w.unref();
  w.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const p = slot.pending.get(msg.id);
    if (!p) return;
    slot.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error));
  });
  const fail = (error: unknown) => {
    // A worker terminated after a timeout exits later, when its slot already has a new worker
    // running the next request: only the slot's current worker may fail the slot's requests.
    if (slot.worker !== w) return;
    slot.worker = undefined;
    for (const p of slot.pending.values()) p.reject(error);
    slot.pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the HDF5 worker exited (code ${code}).`)));
  slot.worker = w;
  return w;
}

function pickSlot(): Slot {
  const count = Math.max(1, Math.floor(h5WorkerLimits.workers));
  while (slots.length < count) slots.push({ pending: new Map(), queue: Promise.resolve() });
  const active = slots.slice(0, count);
  return active.find((s) => s.pending.size === 0) ?? active[nextId % count]!;
}

function request<T>(message: Record<string, unknown>, shownAs: string, what: string): Promise<T> {
  const slot = pickSlot();
  const run = () =>
    new Promise<T>((resolvePromise, reject) => {
      const w = getWorker(slot);
      const id = nextId++;
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        if (slot.worker === w) slot.worker = undefined;
        void w.terminate();
        reject(
          badFile(
            shownAs,
            `HDF5 ${what} did not finish within ${h5WorkerLimits.timeoutMs / 1000} s; the file is damaged in a way that loops the HDF5 library.`,
          ),
        );
      }, h5WorkerLimits.timeoutMs);
      slot.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolvePromise(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      w.ref();
      w.postMessage({ ...message, id });
    }).finally(() => {
      if (slot.pending.size === 0) slot.worker?.unref();
    });
  const result = slot.queue.then(run, run);
  slot.queue = result.catch(() => undefined);
  return result;
}

/** @internal One object of an HDF5 file, as the worker's scan reports it. */
export interface H5NodeInfo {
  readonly path: string;
  readonly type: 'Group' | 'Dataset';
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly shape?: number[] | null;
  readonly dtype?: unknown;
  readonly metadata?: { type: number; size: number; signed: boolean; littleEndian: boolean };
  readonly filtered?: boolean;
}

/** @internal What a scan reports in full: attributes by name, and datasets (by path pattern) whose shape and type are wanted. */
export interface H5ScanWant {
  readonly attrs: readonly string[];
  /** A regular expression source matched against dataset paths. */
  readonly datasets: string;
}

/**
 * @internal Lists every group and dataset of an HDF5 file (in the worker), with the attributes
 * named in `want` and shape/type only for the datasets it matches (reading every attribute of a
 * large model is what costs).
 */
export function scanH5File(path: string, shownAs: string, want: H5ScanWant): Promise<H5NodeInfo[]> {
  return request<H5NodeInfo[]>({ op: 'scan', path: resolve(path), want }, shownAs, 'scan').catch((error: unknown) => {
    if ((error as { code?: unknown })?.code === 'BAD_FILE') throw error;
    throw badFile(shownAs, `HDF5 could not read it (damaged or truncated): ${String((error as Error)?.message ?? error)}`, error);
  });
}

/** @internal Reads the values of datasets of an HDF5 file (in the worker). */
export function readH5Datasets(path: string, shownAs: string, datasets: readonly string[]): Promise<unknown[]> {
  return request<unknown[]>({ op: 'read', path: resolve(path), datasets }, shownAs, `read of ${datasets.join(', ')}`).catch(
    (error: unknown) => {
      if ((error as { code?: unknown })?.code === 'BAD_FILE') throw error;
      throw badFile(
        shownAs,
        `dataset ${datasets.join(', ')} could not be read (damaged or truncated): ${String((error as Error)?.message ?? error)}`,
        error,
      );
    },
  );
}
