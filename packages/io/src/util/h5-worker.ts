import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EmbeddingError } from '@embedding-layer/core';
import { badFile } from '../errors.js';

/*
 * HDF5 files are read in a worker thread, on an in-memory filesystem.
 *
 * - In-memory filesystem: the worker runs h5wasm's ESM build, whose only filesystem is
 *   Emscripten's in-memory FS. Bytes held in memory are copied into it and opened there; a file
 *   on disk is read through its descriptor (below); the HDF5 library never sees the host
 *   filesystem. A file that asks HDF5 for another file (external raw storage, an
 *   external link, a virtual dataset's source) gets nothing from the host: every open of a path
 *   other than the file itself is refused (and recorded, so the error says what was asked for),
 *   external links and virtual datasets are refused when the scan meets them.
 * - In a worker: h5wasm can loop forever on a damaged file (the fuzzer found an attribute whose
 *   corrupted header never returns), and a loop inside WebAssembly cannot be interrupted on the
 *   thread that runs it. The worker's CPU time is measured (Linux: /proc/self/task/<tid>/stat);
 *   a request that burns more CPU than its limit terminates the worker (a new one is started
 *   for the next request) and fails as a BadFileError. CPU time, not wall time, so a loaded
 *   machine never turns a good file into an error; where the thread's CPU time cannot be read, a
 *   wall-clock limit (longer) applies. The limit grows with the file's size for a whole read
 *   only; any other request gets the allowance of at most 256 MiB.
 * - From a file descriptor, without the host filesystem: for a file on disk the main thread opens
 *   it (a regular file, checked), measures its size once and passes the descriptor (worker
 *   threads share the process's descriptors). In the worker the one path HDF5 may open is an
 *   in-memory node whose reads are `fs.readSync(fd, ..., offset + position)`, bounded by the size
 *   measured at open (and, for a `.keras` member, by the member's range inside the zip): HDF5
 *   reads only the pages it needs, and nothing past the range it was given. Saving works the
 *   same way: a node whose writes are positioned `fs.writeSync` calls into the temp file of an
 *   atomic write (at an offset, for a stored zip member). A failed read or write is an I/O error
 *   (EIO) to HDF5, never an exception through WebAssembly.
 *
 * Requests: `open` (bytes, transferred; or a descriptor, offset and size), `scan` (every group and
 * dataset: path, type, the wanted attributes as JSON values, shape and type metadata for the
 * wanted datasets), `read` (values of named datasets), `slice` (rows [start, start + count) of a
 * dataset, by hyperslab), `create` (a new file on a descriptor), `build` (groups, attributes and
 * datasets, in order; a dataset without values is created empty, its rows written by `write`
 * requests, a hyperslab each), `finish` (close the new file: its size) and `close`. Its source is
 * a string, so it runs the same from the TypeScript sources and from the bundle.
 */

const WORKER_SOURCE = `
// process.getBuiltinModule, not require: the source runs as CommonJS or as ESM (a parent
// started with --input-type=module passes that flag to its workers).
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const fs = process.getBuiltinModule('node:fs');
// h5wasm prints the HDF5 error stack (HDF5-DIAG) on every damaged file; the BadFileError
// carries what matters. Silenced before h5wasm binds it.
console.error = () => {};
console.warn = () => {};
console.log = () => {};
process.stdout.write = () => true;
process.stderr.write = () => true;
let tid = null;
try { tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop()); } catch (e) { tid = null; }
parentPort.postMessage({ hello: true, tid: Number.isInteger(tid) ? tid : null });
const FILE = '/model/file.h5';
let asked = [];
const ready = import(workerData.h5wasmUrl).then(async (m) => {
  const h5 = m.default ?? m;
  const Module = await h5.ready;
  const FS = Module.FS;
  FS.mkdir('/model');
  // The only file HDF5 may open is the one it was given.
  for (const name of ['open', 'stat', 'lstat']) {
    const original = FS[name];
    FS[name] = function (path, ...rest) {
      const p = typeof path === 'string' ? path : String(path);
      if (p !== FILE && !(name !== 'open' && (p === '/model' || p === '/'))) {
        if (asked.length < 8 && !asked.includes(p)) asked.push(p);
        throw new FS.ErrnoError(44);
      }
      return original.call(this, path, ...rest);
    };
  }
  return { h5, FS, Module, m };
});
let file = null;
// The file's bytes, when they come from a descriptor: { fd, offset, size, writable, error }.
let backing = null;
function ioError(FS, b, error) {
  if (!b.error) b.error = String((error && error.message) || error);
  return new FS.ErrnoError(29);
}
function bindDescriptor(FS, b) {
  FS.writeFile(FILE, new Uint8Array(0));
  const node = FS.lookupPath(FILE).node;
  node.contents = null;
  node.usedBytes = b.size;
  const llseek = (stream, offset, whence) => {
    let p = offset;
    if (whence === 1) p += stream.position;
    else if (whence === 2) p += node.usedBytes;
    if (p < 0) throw new FS.ErrnoError(28);
    return p;
  };
  const read = (stream, buffer, offset, length, position) => {
    // Never past the size measured at open (or the bytes written so far).
    const n = Math.max(0, Math.min(length, node.usedBytes - position));
    let done = 0;
    try {
      while (done < n) {
        const got = fs.readSync(b.fd, buffer, offset + done, n - done, b.offset + position + done);
        if (got === 0) break;
        done += got;
      }
    } catch (e) { throw ioError(FS, b, e); }
    return done;
  };
  const write = (stream, buffer, offset, length, position) => {
    if (!b.writable) throw new FS.ErrnoError(2);
    let done = 0;
    try {
      while (done < length) done += fs.writeSync(b.fd, buffer, offset + done, length - done, b.offset + position + done);
    } catch (e) { throw ioError(FS, b, e); }
    node.usedBytes = Math.max(node.usedBytes, position + length);
    return length;
  };
  const setattr = (n, attr) => {
    for (const key of ['mode', 'atime', 'mtime', 'ctime']) if (attr[key] != null) n[key] = attr[key];
    if (attr.size !== undefined) {
      if (!b.writable) throw new FS.ErrnoError(2);
      try { fs.ftruncateSync(b.fd, b.offset + attr.size); } catch (e) { throw ioError(FS, b, e); }
      n.usedBytes = attr.size;
    }
  };
  node.stream_ops = { llseek, read, write };
  node.node_ops = Object.assign({}, node.node_ops, { setattr });
}
function release(FS) {
  if (file) { try { file.close(); } catch (e) {} file = null; }
  try { FS.unlink(FILE); } catch (e) {}
  backing = null;
}
function ioFailed() {
  if (backing && backing.error) refuse('input/output error on the file: ' + backing.error);
}
function groupAt(path) {
  const node = path === '' ? file : file.get(path);
  if (!node || (node.type !== 'Group' && node !== file)) throw new Error('no group ' + path);
  return node;
}
function splitPath(path) {
  const i = path.lastIndexOf('/');
  return i < 0 ? ['', path] : [path.slice(0, i), path.slice(i + 1)];
}
function refuse(message) { const e = new Error(message); e.refused = true; throw e; }
function scan(want) {
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
      if (typeof node.filename === 'string' && typeof node.obj_path === 'string')
        refuse('"' + path + '" is an external link to ' + JSON.stringify(node.filename.slice(0, 200)) + ':' + JSON.stringify(node.obj_path.slice(0, 200)) + '; links to other files are refused.');
      if (node.type === 'Group') {
        nodes.push({ path, type: 'Group', attrs: attrs(node) });
        if (nodes.length > 100000) throw new Error('more than 100000 objects');
        walk(node, path, depth + 1);
      } else if (node.type === 'Dataset') {
        if (!detail.test(path)) { nodes.push({ path, type: 'Dataset', attrs: {} }); continue; }
        const m = node.metadata;
        if (m && Array.isArray(m.virtual_sources))
          refuse('dataset "' + path + '" is a virtual dataset (its data lives in ' + JSON.stringify(m.virtual_sources.slice(0, 3).map((s) => s.file_name.slice(0, 200))) + '); virtual datasets are refused.');
        let filtered = false;
        try { filtered = (node.filters ?? []).length > 0; } catch (e) { filtered = false; }
        nodes.push({ path, type: 'Dataset', attrs: attrs(node), shape: node.shape, dtype: node.dtype,
          metadata: { type: m.type, size: m.size, signed: m.signed, littleEndian: m.littleEndian }, filtered });
      }
    }
  };
  walk(file, '', 0);
  return nodes;
}
function checkAsked() {
  if (asked.length > 0) {
    const list = asked.map((p) => JSON.stringify(p.slice(0, 200))).join(', ');
    asked = [];
    refuse('it asks HDF5 for another file (' + list + '): external storage, external links and virtual datasets are refused; only the file itself is read.');
  }
}
const realNow = Date.now;
parentPort.on('message', async (msg) => {
  const clock = msg.clock;
  Date.now = typeof clock === 'number' ? () => clock : realNow;
  try {
    const { h5, FS } = await ready;
    let result = null;
    let transfer = [];
    if (msg.op === 'open') {
      release(FS);
      asked = [];
      if (msg.bytes) FS.writeFile(FILE, new Uint8Array(msg.bytes));
      else {
        backing = { fd: msg.fd, offset: msg.offset, size: msg.size, writable: false, error: null };
        bindDescriptor(FS, backing);
      }
      file = new h5.File(FILE, 'r');
    } else if (msg.op === 'slice') {
      const node = file.get(msg.dataset);
      if (!node || node.type !== 'Dataset') throw new Error('no dataset ' + msg.dataset);
      const m = node.metadata;
      if (m && Array.isArray(m.virtual_sources)) refuse('dataset "' + msg.dataset + '" is a virtual dataset; virtual datasets are refused.');
      result = node.slice([[msg.start, msg.start + msg.count]]);
      if (ArrayBuffer.isView(result)) transfer = [result.buffer];
    } else if (msg.op === 'create') {
      release(FS);
      asked = [];
      backing = { fd: msg.fd, offset: msg.offset, size: 0, writable: true, error: null };
      bindDescriptor(FS, backing);
      file = new h5.File(FILE, 'w');
    } else if (msg.op === 'build') {
      const { Module, m } = await ready;
      for (const step of msg.steps) {
        if (step.op === 'group') {
          const [parent, name] = splitPath(step.path);
          groupAt(parent).create_group(name);
        } else if (step.op === 'attr') {
          const node = step.path === '' ? file : file.get(step.path);
          node.create_attribute(step.name, step.value, step.shape ?? null, step.dtype ?? null);
        } else if (step.op === 'dataset') {
          const [parent, name] = splitPath(step.path);
          const group = groupAt(parent);
          if (step.data) group.create_dataset({ name, data: step.data, shape: step.shape, dtype: step.dtype });
          else {
            // Created without values: h5wasm's create_dataset writes whatever it is given, so the
            // dataset is created through the module with no buffer (HDF5 refuses the write of a
            // null buffer and leaves the dataset, contiguous, its storage allocated at the first
            // hyperslab write, exactly where a whole write would have put it).
            const meta = m.dtype_to_metadata(step.dtype);
            const shape = step.shape.map(BigInt);
            Module.create_dataset(file.file_id, '/' + step.path, 0n,
              Object.assign({}, meta, { shape, maxshape: shape, chunks: null, compression: 0, compression_opts: [], track_order: false }));
            if (!file.get(step.path)) throw new Error('could not create dataset ' + step.path);
          }
        }
      }
    } else if (msg.op === 'write') {
      const node = file.get(msg.dataset);
      if (!node || node.type !== 'Dataset') throw new Error('no dataset ' + msg.dataset);
      node.write_slice([[msg.start, msg.start + msg.count]], msg.data);
    } else if (msg.op === 'finish') {
      file.close();
      file = null;
      ioFailed();
      result = FS.lookupPath(FILE).node.usedBytes;
      release(FS);
    } else if (msg.op === 'scan') {
      result = scan(msg.want);
    } else if (msg.op === 'read') {
      result = msg.datasets.map((d) => {
        const node = file.get(d);
        if (!node || node.type !== 'Dataset') throw new Error('no dataset ' + d);
        const m = node.metadata;
        if (m && Array.isArray(m.virtual_sources)) refuse('dataset "' + d + '" is a virtual dataset; virtual datasets are refused.');
        return node.value;
      });
      transfer = result.filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer);
    } else if (msg.op === 'close') {
      release(FS);
    }
    ioFailed();
    checkAsked();
    parentPort.postMessage({ id: msg.id, ok: true, result }, transfer);
  } catch (error) {
    let message = String((error && error.message) || error);
    let refused = Boolean(error && error.refused);
    if (backing && backing.error) { message = 'input/output error on the file: ' + backing.error; refused = true; }
    if (asked.length > 0) { try { checkAsked(); } catch (e) { message = e.message; refused = true; } }
    parentPort.postMessage({ id: msg.id, ok: false, error: message, refused });
  }
});
`;

/**
 * @internal Test seam: when `fixedTimeMs` is set, the worker's clock (`Date.now`, which HDF5's
 * `time()` reads for the modification times it stores in object headers) is that instant during
 * each request, so two writers can be compared byte for byte. Undefined in normal use.
 */
export const h5WorkerTestHooks: { fixedTimeMs?: number } = {};

/**
 * @internal Limits of the HDF5 worker: CPU time of one request (scan, read) before it is treated
 * as a hang, plus `cpuMsPerMiB` for each MiB of the file; the wall-clock limit used where the
 * worker's CPU time cannot be read (and as a backstop, `wallFactor` times the CPU limit); how
 * many worker threads read HDF5 files concurrently.
 */
export const h5WorkerLimits = { cpuMs: 20_000, cpuMsPerMiB: 200, wallFactor: 10, workers: 1 };

function h5wasmUrl(): string {
  // The ESM build (MEMFS only), never h5wasm/node (which mounts the host filesystem).
  try {
    const meta = import.meta as ImportMeta & { resolve?: (s: string) => string };
    if (typeof meta.resolve === 'function') return meta.resolve('h5wasm');
  } catch {
    // fall through to a search of node_modules
  }
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths('h5wasm') ?? []) {
    const file = join(dir, 'h5wasm', 'dist', 'esm', 'hdf5_hl.js');
    try {
      readFileSync(join(dirname(file), '..', '..', 'package.json'));
      return pathToFileURL(file).href;
    } catch {
      // not in this folder
    }
  }
  throw new Error('cannot find the h5wasm package.');
}

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (ms) a thread of this process has used, from /proc (Linux); undefined elsewhere. */
function threadCpuMs(tid: number | null): number | undefined {
  if (tid === null) return undefined;
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3; utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface WorkerReply {
  id?: number;
  ok?: boolean;
  result?: unknown;
  error?: string;
  refused?: boolean;
  hello?: boolean;
  tid?: number | null;
}

/** One worker, the request it runs, and the file it holds open. */
interface Slot {
  worker?: Worker;
  tid?: number | null;
  hello?: Promise<void>;
  pending: Map<number, Pending>;
  /** Tail of the chain of sessions: one file per worker at a time. */
  lock: Promise<unknown>;
  busy: number;
}

let nextId = 1;
const slots: Slot[] = [];

function getWorker(slot: Slot): Worker {
  if (slot.worker) return slot.worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { h5wasmUrl: h5wasmUrl() } });
  // Unreferenced while idle, so a process that has read a file exits; nothing of HDF5 reaches
  // the terminal (the worker silences its console and its process.stdout/stderr).
  w.unref();
  let sayHello: () => void = () => {};
  slot.hello = new Promise<void>((resolve) => {
    sayHello = resolve;
  });
  slot.tid = null;
  w.on('message', (msg: WorkerReply) => {
    if (msg.hello) {
      slot.tid = msg.tid ?? null;
      sayHello();
      return;
    }
    const p = slot.pending.get(msg.id ?? -1);
    if (!p) return;
    slot.pending.delete(msg.id ?? -1);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(Object.assign(new Error(msg.error), { refused: msg.refused === true }));
  });
  const fail = (error: unknown) => {
    // A worker terminated after a timeout exits later, when its slot already has a new worker
    // running the next request: only the slot's current worker may fail the slot's requests.
    if (slot.worker !== w) return;
    slot.worker = undefined;
    sayHello();
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
  while (slots.length < count) slots.push({ pending: new Map(), lock: Promise.resolve(), busy: 0 });
  const active = slots.slice(0, count);
  return active.reduce((best, s) => (s.busy < best.busy ? s : best), active[0]!);
}

/** A request to the slot's worker, failed as a hang when its CPU time (or wall time) passes the limit. */
async function request<T>(
  slot: Slot,
  message: Record<string, unknown>,
  limitMs: number,
  onHang: () => Error,
  transfer: ArrayBuffer[] = [],
): Promise<T> {
  const w = getWorker(slot);
  // Referenced while a request is pending (its start included), unreferenced when idle.
  w.ref();
  await slot.hello;
  if (slot.worker !== w) throw new Error('the HDF5 worker exited before it started.');
  const id = nextId++;
  const tid = slot.tid ?? null;
  const startCpu = threadCpuMs(tid);
  const started = Date.now();
  const wallLimit = startCpu === undefined ? limitMs : limitMs * h5WorkerLimits.wallFactor;
  return new Promise<T>((resolvePromise, reject) => {
    const timer = setInterval(
      () => {
        const cpu = startCpu === undefined ? undefined : threadCpuMs(tid);
        const used = cpu === undefined || startCpu === undefined ? undefined : cpu - startCpu;
        if ((used !== undefined && used > limitMs) || Date.now() - started > wallLimit) {
          clearInterval(timer);
          slot.pending.delete(id);
          if (slot.worker === w) slot.worker = undefined;
          void w.terminate();
          reject(onHang());
        }
      },
      Math.min(250, Math.max(20, limitMs / 8)),
    );
    slot.pending.set(id, {
      resolve: (v) => {
        clearInterval(timer);
        resolvePromise(v as T);
      },
      reject: (e) => {
        clearInterval(timer);
        reject(e);
      },
    });
    w.ref();
    w.postMessage({ ...message, id, clock: h5WorkerTestHooks.fixedTimeMs }, transfer);
  }).finally(() => {
    if (slot.pending.size === 0) slot.worker?.unref();
  });
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

/** @internal An HDF5 file open in a worker: scan it, read datasets or row ranges of one. */
export interface H5Session {
  /** Every group and dataset of the file, with the attributes named in `want` and shape/type only for the datasets it matches. */
  scan(want: H5ScanWant): Promise<H5NodeInfo[]>;
  /** The values of datasets, by path. */
  read(datasets: readonly string[]): Promise<unknown[]>;
  /** Rows [start, start + count) of a dataset (a hyperslab along its first axis), as h5wasm returns values. */
  slice(dataset: string, start: number, count: number): Promise<unknown>;
}

/** @internal A {@link H5Session} held open until `close()` (one file per worker: close it, or the worker stays taken). */
export interface OpenH5Session extends H5Session {
  close(): Promise<void>;
}

/**
 * @internal Where the worker reads an HDF5 file from: bytes held in memory (copied into its
 * in-memory filesystem; the caller's array is left untouched), or `size` bytes at `offset` of an
 * open file descriptor (read in place, page by page, as HDF5 asks for them).
 */
export type H5Input = { readonly bytes: Uint8Array } | { readonly fd: number; readonly offset: number; readonly size: number };

function toBadFile(shownAs: string, what: string, error: unknown): Error {
  if ((error as { code?: unknown })?.code === 'BAD_FILE') return error as Error;
  const message = String((error as Error)?.message ?? error);
  if ((error as { refused?: unknown })?.refused) return badFile(shownAs, message, error);
  return badFile(shownAs, `${what} (damaged or truncated): ${message}`, error);
}

/** Waits for the slot's previous file to be closed; returns the function that hands the slot on. */
async function takeSlot(slot: Slot): Promise<() => void> {
  slot.busy++;
  let release: () => void = () => {};
  const previous = slot.lock;
  slot.lock = new Promise<void>((resolve) => {
    release = resolve;
  });
  await previous.catch(() => undefined);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    slot.busy--;
    release();
  };
}

function cpuLimitFor(bytes: number): number {
  return h5WorkerLimits.cpuMs + (h5WorkerLimits.cpuMsPerMiB * bytes) / (1024 * 1024);
}

/**
 * Bytes whose allowance a request that is not a whole read gets at most (open, scan, a range of
 * rows, a write, close): they touch metadata and at most one range of rows, so a file read in
 * place (say a sparse file of 100 GB) does not earn hours of CPU time for a scan that loops.
 */
const PER_REQUEST_BYTES = 256 * 1024 * 1024;

function hangError(shownAs: string, limitMs: number) {
  return (what: string) => () =>
    badFile(
      shownAs,
      `HDF5 ${what} did not finish within ${Math.round(limitMs / 100) / 10} s of CPU time; the file is damaged in a way that loops the HDF5 library.`,
    );
}

/**
 * @internal Opens an HDF5 file in a worker (see {@link H5Input}) and keeps it open until the
 * session's `close()`. One file per worker at a time, so a hang blames the right file.
 */
export async function openH5Session(input: H5Input, shownAs: string): Promise<OpenH5Session> {
  const slot = pickSlot();
  const release = await takeSlot(slot);
  const fileBytes = 'bytes' in input ? input.bytes.byteLength : input.size;
  // A whole read may take time in proportion to the file; every other request, to a bounded part of it.
  const readMs = cpuLimitFor(fileBytes);
  const limitMs = cpuLimitFor(Math.min(fileBytes, PER_REQUEST_BYTES));
  const hang = hangError(shownAs, limitMs);
  const readHang = hangError(shownAs, readMs);
  const close = async () => {
    if (slot.worker) await request(slot, { op: 'close' }, limitMs, hang('close')).catch(() => undefined);
    release();
  };
  try {
    if ('bytes' in input) {
      const copy = input.bytes.slice().buffer;
      await request(slot, { op: 'open', bytes: copy }, limitMs, hang('open'), [copy]);
    } else {
      await request(slot, { op: 'open', fd: input.fd, offset: input.offset, size: input.size }, limitMs, hang('open'));
    }
  } catch (error) {
    await close();
    throw toBadFile(shownAs, 'HDF5 could not open it', error);
  }
  return {
    scan: (want) =>
      request<H5NodeInfo[]>(slot, { op: 'scan', want }, limitMs, hang('scan')).catch((error: unknown) => {
        throw toBadFile(shownAs, 'HDF5 could not read it', error);
      }),
    read: (datasets) =>
      request<unknown[]>(slot, { op: 'read', datasets }, readMs, readHang(`read of ${datasets.join(', ')}`)).catch((error: unknown) => {
        throw toBadFile(shownAs, `dataset ${datasets.join(', ')} could not be read`, error);
      }),
    slice: (dataset, start, count) =>
      request<unknown>(
        slot,
        { op: 'slice', dataset, start, count },
        limitMs,
        hang(`read of rows ${start}-${start + count} of ${dataset}`),
      ).catch((error: unknown) => {
        throw toBadFile(shownAs, `rows [${start}, ${start + count}) of dataset ${dataset} could not be read`, error);
      }),
    close,
  };
}

/**
 * @internal Opens HDF5 bytes in a worker (copied into its in-memory filesystem; `bytes` is
 * left untouched) and runs `fn` with a session on it; the file is closed and its memory freed
 * afterwards.
 */
export async function withH5Session<T>(bytes: Uint8Array, shownAs: string, fn: (session: H5Session) => Promise<T>): Promise<T> {
  const session = await openH5Session({ bytes }, shownAs);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** @internal One step of building an HDF5 file in the worker, run in order (the order decides where HDF5 puts things). */
export type H5BuildStep =
  | { readonly op: 'group'; readonly path: string }
  | {
      readonly op: 'attr';
      /** The group or dataset ('' for the root). */
      readonly path: string;
      readonly name: string;
      readonly value: unknown;
      readonly shape?: readonly number[];
      readonly dtype?: string;
    }
  | {
      readonly op: 'dataset';
      readonly path: string;
      readonly shape: readonly number[];
      /** h5wasm's dtype string, little-endian (`<f`, `<b`). */
      readonly dtype: string;
      /** Values written at creation; without them the dataset is created empty and filled by {@link H5Writer.writeRows}. */
      readonly data?: ArrayBufferView;
    };

/** @internal A new HDF5 file being written by the worker, for {@link withH5Writer}. */
export interface H5Writer {
  /** Runs build steps, in order. */
  build(steps: readonly H5BuildStep[]): Promise<void>;
  /** Writes rows [start, start + count) of a dataset created without values (`values` is copied, never detached). */
  writeRows(dataset: string, start: number, count: number, values: ArrayBufferView): Promise<void>;
}

/**
 * @internal Writes a new HDF5 file into an open file descriptor at `offset` (the temp file of an
 * atomic write; an offset for a zip member) with `fn`, then closes it and returns its size in
 * bytes. HDF5 writes through positioned writes only; it sees no path of the host. `expectedBytes`
 * (about the size of the file) scales the CPU-time limit of each request. On failure the worker is
 * replaced, so no half-written HDF5 state outlives the call.
 */
export async function withH5Writer(
  target: { readonly fd: number; readonly offset: number },
  shownAs: string,
  expectedBytes: number,
  fn: (writer: H5Writer) => Promise<void>,
): Promise<number> {
  const slot = pickSlot();
  const release = await takeSlot(slot);
  const limitMs = cpuLimitFor(Math.min(expectedBytes, PER_REQUEST_BYTES));
  const hang = (what: string) => () =>
    badFile(shownAs, `cannot write: HDF5 ${what} did not finish within ${Math.round(limitMs / 100) / 10} s of CPU time.`);
  const failed = (what: string) => (error: unknown) => {
    throw EmbeddingError.isInstance(error)
      ? error
      : badFile(shownAs, `cannot write: ${what} failed: ${String((error as Error)?.message ?? error)}`, error);
  };
  try {
    await request(slot, { op: 'create', fd: target.fd, offset: target.offset }, limitMs, hang('create')).catch(
      failed('creating the HDF5 file'),
    );
    await fn({
      build: (steps) => request<void>(slot, { op: 'build', steps }, limitMs, hang('build')).catch(failed('building the HDF5 layout')),
      writeRows: (dataset, start, count, values) => {
        const copy = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
        const data = new (values.constructor as new (b: ArrayBuffer) => ArrayBufferView)(copy.buffer);
        return request<void>(slot, { op: 'write', dataset, start, count, data }, limitMs, hang(`write of rows ${start}-${start + count}`), [
          copy.buffer,
        ]).catch(failed(`writing rows [${start}, ${start + count}) of ${dataset}`));
      },
    });
    return await request<number>(slot, { op: 'finish' }, limitMs, hang('close')).catch(failed('closing the HDF5 file'));
  } catch (error) {
    // Whatever HDF5 holds of this file is dropped with the worker; the next request starts a new one.
    const w = slot.worker;
    if (w) {
      slot.worker = undefined;
      await w.terminate();
    }
    throw error;
  } finally {
    release();
  }
}
