import { idsFor, type MemoryLayout } from '@embedding-layer/core/backend';
import type { ParallelGather } from './wasm-table.js';

/**
 * The worker's source, run with `new Worker(code, { eval: true })` (so the bundle needs no
 * separate file). It instantiates the kernel over the shared table memory it receives and
 * gathers its share of the rows in chunks through its own scratch slot, straight into the
 * shared output.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  try {
    const k = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
    const run = m.rowBytes % 16 === 0 ? k.gather16x4 : k.gather;
    const buffer = m.memory.buffer;
    const f32 = new Float32Array(buffer);
    const i32 = new Int32Array(buffer);
    const ids = m.ids, out = m.out, d = m.rowBytes >> 2, n = ids.length;
    for (let a = 0; a < n; a += m.chunkRows) {
      const b = Math.min(n, a + m.chunkRows);
      i32.set(ids.subarray(a, b), m.idsPtr >> 2);
      const scratch = m.slotBase + ((out.byteOffset + a * m.rowBytes + 16 + 2048) & 4092);
      run(m.tablePtr, m.idsPtr, b - a, m.rowBytes, scratch);
      out.set(f32.subarray(scratch >> 2, (scratch >> 2) + (b - a) * d), a * d);
    }
    parentPort.postMessage({ id: m.id });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String((error && error.stack) || error) });
  }
});
`;

interface NodeWorker {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: { id: number; error?: string }) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

interface WorkerThreadsModule {
  Worker: new (code: string, options: { eval: true }) => NodeWorker;
}

/** Node's worker_threads without a static import (the package also runs in browsers), or null. */
function workerThreads(): WorkerThreadsModule | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return (proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreadsModule | undefined) ?? null;
  } catch {
    return null;
  }
}

/** Threads available to this process (Node's os.availableParallelism, else navigator.hardwareConcurrency), 1 if unknown. */
export function availableCores(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
    if (os?.availableParallelism) return os.availableParallelism();
  } catch {
    // fall through
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

/** Whether worker threads over shared WebAssembly memory can run here (Node with SharedArrayBuffer). */
export function workersAvailable(): boolean {
  return typeof SharedArrayBuffer === 'function' && workerThreads() !== null;
}

interface Slot {
  worker: NodeWorker;
  pending: number;
}

/** The process-wide pool: workers start on first use, are unref'd while idle, and are shared by every table. */
const slots: Slot[] = [];
const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void; slot: Slot }>();
let nextId = 1;

function slotFor(index: number): Slot {
  const slot = slots[index];
  if (slot) return slot;
  const threads = workerThreads();
  if (!threads) throw new Error('worker_threads is unavailable');
  const worker = new threads.Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  const created: Slot = { worker, pending: 0 };
  worker.on('message', (message) => {
    const job = waiting.get(message.id);
    if (!job) return;
    waiting.delete(message.id);
    if (--job.slot.pending === 0) job.slot.worker.unref();
    if (message.error !== undefined) job.reject(new Error(`adapter-js worker: ${message.error}`));
    else job.resolve();
  });
  worker.on('error', (error) => {
    // A dead worker fails its jobs and is replaced on next use.
    slots[index] = undefined as unknown as Slot;
    for (const [id, job] of waiting) {
      if (job.slot === created) {
        waiting.delete(id);
        job.reject(error);
      }
    }
  });
  slots[index] = created;
  return created;
}

/** A {@link ParallelGather} over `count` pool workers. */
export function workerPool(count: number): ParallelGather {
  return {
    workers: count,
    run(worker: number, module: WebAssembly.Module, memory: WebAssembly.Memory, layout: MemoryLayout, ids: Int32Array, out: Float32Array) {
      const slot = slotFor(worker - 1);
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject, slot });
        if (slot.pending++ === 0) slot.worker.ref();
        slot.worker.postMessage({
          id,
          module,
          memory,
          ids,
          out,
          rowBytes: layout.rowBytes,
          chunkRows: layout.chunkRows,
          tablePtr: layout.tablePtr,
          slotBase: worker * layout.slotBytes,
          idsPtr: idsFor(layout, worker),
        });
      });
    },
  };
}
