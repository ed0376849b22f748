import type {
  EmbeddingOutput,
  EmbeddingTableV2,
  IndexTensor,
  ResolvedEmbeddingConfig,
  RowSource,
  TableDescription,
} from '@embedding-layer/core';
import { instantiateKernel, type KernelExports, kernelModule } from './kernel.js';

const PAGE = 65536;
/** Largest wasm32 memory: 65,536 pages of 64 KiB. */
export const MAX_WASM_BYTES = 65536 * PAGE;
/** Rows are gathered in chunks of about this many bytes into a scratch area that stays in L2, then copied out in one `set`. */
const CHUNK_BYTES = 256 * 1024;
/** Slack after each scratch area, to place it at any offset modulo a 4 KiB page (see `scratchFor`). */
const ALIGN_SLACK = 4096;

/** Where a thread's scratch and index areas sit in the memory. Slot 0 is the main thread's; slot k the k-th worker's. */
export interface MemoryLayout {
  readonly rowBytes: number;
  readonly chunkRows: number;
  readonly slotBytes: number;
  readonly tablePtr: number;
  readonly totalBytes: number;
}

/** The layout of a table of `rows` x `outputDim` floats with `slots` thread slots in front of it. */
export function memoryLayout(rows: number, outputDim: number, slots: number): MemoryLayout {
  const rowBytes = outputDim * 4;
  const chunkRows = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(rowBytes, 1)));
  const slotBytes = Math.ceil((chunkRows * rowBytes + ALIGN_SLACK + chunkRows * 4) / 64) * 64;
  const tablePtr = slots * slotBytes;
  return { rowBytes, chunkRows, slotBytes, tablePtr, totalBytes: tablePtr + rows * rowBytes };
}

/**
 * The scratch address for a chunk bound for destination byte `dstByte` of its buffer. On AMD
 * CPUs, `rep movsb` (glibc's memcpy for copies of a few kB to a few MB, as `TypedArray.set`
 * does) runs several times slower when source and destination sit at (nearly) the same offset
 * within a 4 KiB page: measured 7-9 ms instead of 0.4 ms for 8 MB in 256 kB chunks. Wasm
 * memory is page-aligned and large ArrayBuffers start at a page boundary or 16 bytes into
 * one, so the scratch sits about half a page away from the destination's page offset.
 */
export function scratchFor(layout: MemoryLayout, slot: number, dstByte: number): number {
  return slot * layout.slotBytes + ((dstByte + 16 + 2048) & 4092);
}

/** The index area of a slot. */
export function idsFor(layout: MemoryLayout, slot: number): number {
  return slot * layout.slotBytes + layout.chunkRows * layout.rowBytes + ALIGN_SLACK;
}

/** Float32 and Int32 views of a whole memory (its size never changes: initial = maximum). */
export interface MemoryViews {
  readonly f32: Float32Array;
  readonly i32: Int32Array;
}

/** Gathers ids[from, to) into out (element offset of ids[from] = from * outputDim), chunk by chunk through a slot's scratch. */
export function gatherChunks(
  kernel: KernelExports,
  views: MemoryViews,
  layout: MemoryLayout,
  slot: number,
  ids: Int32Array,
  from: number,
  to: number,
  out: Float32Array,
): void {
  const { rowBytes, chunkRows, tablePtr } = layout;
  const d = rowBytes >> 2;
  const { f32, i32 } = views;
  const idsPtr = idsFor(layout, slot);
  const run = rowBytes % 16 === 0 ? kernel.gather16x4 : kernel.gather;
  for (let a = from; a < to; a += chunkRows) {
    const b = Math.min(to, a + chunkRows);
    const count = b - a;
    i32.set(ids.subarray(a, b), idsPtr >> 2);
    const scratch = scratchFor(layout, slot, out.byteOffset + a * rowBytes);
    run(tablePtr, idsPtr, count, rowBytes, scratch);
    const s = scratch >> 2;
    out.set(f32.subarray(s, s + count * d), a * d);
  }
}

/** What a {@link WasmTable} needs from the worker pool (see workers.ts). */
export interface ParallelGather {
  /** Worker threads available (0: none). */
  readonly workers: number;
  /**
   * Gathers ids[from, to) into `out` (a Float32Array over a SharedArrayBuffer) on worker
   * `worker` (1-based slot), resolving when done.
   */
  run(
    worker: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    layout: MemoryLayout,
    ids: Int32Array,
    out: Float32Array,
  ): Promise<void>;
}

export interface WasmTableOptions {
  /** Worker pool for large lookups, or null. The memory is shared when given. */
  parallel: ParallelGather | null;
  /** Output bytes from which a lookup is split across the workers. */
  workerThreshold: number;
}

/**
 * A table in WebAssembly memory: the kernel reads the rows in place (the table is never
 * copied per call) and copies them, a chunk at a time, through a scratch area into the output.
 */
export class WasmTable implements EmbeddingTableV2 {
  readonly outputDim: number;
  readonly rows: number;
  readonly layout: MemoryLayout;
  private memory: WebAssembly.Memory;
  private readonly module: WebAssembly.Module;
  private readonly kernel: KernelExports;
  private readonly parallel: ParallelGather | null;
  private readonly workerThreshold: number;
  private weightsView: Float32Array;
  private views: MemoryViews;

  private constructor(
    config: ResolvedEmbeddingConfig,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    layout: MemoryLayout,
    options: WasmTableOptions,
  ) {
    this.outputDim = config.outputDim;
    this.rows = config.inputDim;
    this.module = module;
    this.memory = memory;
    this.layout = layout;
    this.kernel = instantiateKernel(module, memory);
    this.parallel = options.parallel;
    this.workerThreshold = options.workerThreshold;
    this.weightsView = new Float32Array(memory.buffer, layout.tablePtr, this.rows * this.outputDim);
    this.views = { f32: new Float32Array(memory.buffer), i32: new Int32Array(memory.buffer) };
  }

  /**
   * A table in wasm memory filled from `initial` a chunk of rows at a time (straight into the
   * memory, no second copy of the table), or null when the kernel or a memory of that size is
   * unavailable (the caller falls back to JS).
   */
  static async create(config: ResolvedEmbeddingConfig, initial: RowSource, options: WasmTableOptions): Promise<WasmTable | null> {
    const shared = options.parallel !== null && options.parallel.workers > 0;
    const module = kernelModule(shared);
    if (module === null) return null;
    const layout = memoryLayout(config.inputDim, config.outputDim, shared ? 1 + options.parallel!.workers : 1);
    if (layout.totalBytes > MAX_WASM_BYTES) return null;
    const pages = Math.max(1, Math.ceil(layout.totalBytes / PAGE));
    let memory: WebAssembly.Memory;
    try {
      memory = shared
        ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
        : new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch {
      return null;
    }
    const table = new WasmTable(config, module, memory, layout, shared ? options : { ...options, parallel: null });
    for (let start = 0; start < table.rows; start += initial.chunkRows) {
      const count = Math.min(initial.chunkRows, table.rows - start);
      table.weightsView.set(await initial.read(start, count), start * table.outputDim);
    }
    return table;
  }

  /** Whether this table's memory is shared with worker threads. */
  get parallelWorkers(): number {
    return this.parallel?.workers ?? 0;
  }

  doLookup(indices: IndexTensor, into?: Float32Array): EmbeddingOutput | Promise<EmbeddingOutput> {
    const d = this.outputDim;
    const ids = indices.data;
    const shape = [...indices.shape, d];
    const bytes = ids.length * d * 4;
    const parallel = this.parallel;
    if (parallel !== null && parallel.workers > 0 && bytes >= this.workerThreshold && ids.length > 1) {
      return this.lookupParallel(parallel, ids, shape, into);
    }
    const out = into ?? new Float32Array(ids.length * d);
    gatherChunks(this.kernel, this.views, this.layout, 0, ids, 0, ids.length, out);
    return { data: out, shape };
  }

  /**
   * Splits the rows between this thread and the workers. Workers write straight into a
   * shared output: the caller's when its buffer is a SharedArrayBuffer, else a fresh shared
   * one when no output was given; a caller's plain buffer gets the workers' rows through a
   * shared staging array.
   */
  private async lookupParallel(
    parallel: ParallelGather,
    ids: Int32Array,
    shape: number[],
    into: Float32Array | undefined,
  ): Promise<EmbeddingOutput> {
    const d = this.outputDim;
    const n = ids.length;
    const canShare = typeof SharedArrayBuffer === 'function';
    const out = into ?? (canShare ? new Float32Array(new SharedArrayBuffer(n * d * 4)) : new Float32Array(n * d));
    const direct = canShare && out.buffer instanceof SharedArrayBuffer;
    const threads = parallel.workers + 1;
    const per = Math.ceil(n / threads);
    const memory = this.memory;
    const jobs: Promise<void>[] = [];
    const staged: { from: number; to: number; part: Float32Array }[] = [];
    for (let w = 1; w < threads; w++) {
      const from = Math.min(n, w * per);
      const to = Math.min(n, from + per);
      if (from >= to) continue;
      const part = direct ? out.subarray(from * d, to * d) : new Float32Array(new SharedArrayBuffer((to - from) * d * 4));
      if (!direct) staged.push({ from, to, part });
      jobs.push(parallel.run(w, this.module, memory, this.layout, ids.slice(from, to), part));
    }
    gatherChunks(this.kernel, this.views, this.layout, 0, ids, 0, Math.min(n, per), out);
    await Promise.all(jobs);
    for (const { from, part } of staged) out.set(part, from * d);
    return { data: out, shape };
  }

  doReadRows(start: number, count: number): Float32Array {
    const d = this.outputDim;
    return this.weightsView.slice(start * d, (start + count) * d);
  }

  doWriteRows(start: number, rows: Float32Array): void {
    this.weightsView.set(rows, start * this.outputDim);
  }

  doDescribe(): TableDescription {
    return {
      path: this.parallelWorkers > 0 ? 'wasm+workers' : 'wasm',
      shardCount: 1,
      shardRows: this.rows,
      storedBytes: this.rows * this.outputDim * 4,
      memoryBytes: this.layout.totalBytes,
    };
  }

  doScatterAdd(rows: Int32Array, deltas: Float32Array): void {
    const d = this.outputDim;
    const w = this.weightsView;
    for (let k = 0; k < rows.length; k++) {
      const base = rows[k]! * d;
      const src = k * d;
      for (let c = 0; c < d; c++) w[base + c] = w[base + c]! + deltas[src + c]!;
    }
  }

  doDispose(): void {
    this.weightsView = new Float32Array(0);
    this.views = { f32: new Float32Array(0), i32: new Int32Array(0) };
    this.memory = new WebAssembly.Memory({ initial: 0 });
  }
}
