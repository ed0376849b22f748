import type {
  EmbeddingOutput,
  EmbeddingTableV2,
  IndexTensor,
  ResolvedEmbeddingConfig,
  RowSource,
  TableDescription,
} from '@embedding-layer/core';
import {
  copySourceRows,
  createWasmRows,
  gatherChunks,
  type KernelExports,
  MAX_WASM_BYTES,
  type MemoryLayout,
  type MemoryViews,
  type WasmRows,
} from '@embedding-layer/core/backend';

export { MAX_WASM_BYTES };

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
 * Outputs from {@link WasmTable.doAllocateOutput} live in the same memory, after the table (core's
 * output arena), and the kernel writes their rows in one pass, without the scratch area.
 */
export class WasmTable implements EmbeddingTableV2 {
  readonly outputDim: number;
  readonly rows: number;
  readonly layout: MemoryLayout;
  private memory: WebAssembly.Memory;
  private readonly module: WebAssembly.Module;
  private readonly kernel: KernelExports;
  private readonly wasm: WasmRows;
  private readonly parallel: ParallelGather | null;
  private readonly workerThreshold: number;
  private weightsView: Float32Array;
  private views: MemoryViews;

  private constructor(config: ResolvedEmbeddingConfig, rows: WasmRows, options: WasmTableOptions) {
    this.outputDim = config.outputDim;
    this.rows = config.inputDim;
    this.module = rows.module;
    this.memory = rows.memory;
    this.layout = rows.layout;
    this.kernel = rows.kernel;
    this.wasm = rows;
    this.parallel = options.parallel;
    this.workerThreshold = options.workerThreshold;
    this.weightsView = rows.table;
    this.views = rows.views;
  }

  /**
   * A table in wasm memory (core's {@link createWasmRows}) filled from `initial` a chunk of rows
   * at a time (straight into the memory, no second copy of the table), or null when the kernel
   * or a memory of that size is unavailable (the caller falls back to JS).
   */
  static async create(config: ResolvedEmbeddingConfig, initial: RowSource, options: WasmTableOptions): Promise<WasmTable | null> {
    const shared = options.parallel !== null && options.parallel.workers > 0;
    // Not shared: the memory may grow for an output arena (doAllocateOutput).
    const rows = createWasmRows(config.inputDim, config.outputDim, {
      slots: shared ? 1 + options.parallel!.workers : 1,
      shared,
      growable: !shared,
    });
    if (rows === null) return null;
    const table = new WasmTable(config, rows, shared ? options : { ...options, parallel: null });
    await copySourceRows(initial, (start, rows) => table.weightsView.set(rows, start * table.outputDim));
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
    // One pass when `out` is an arena block of this memory, else through the scratch area.
    this.wasm.gather(ids, out);
    return { data: out, shape };
  }

  /**
   * An output of `length` floats in this table's memory, after the table, which lookups fill in
   * one pass; null (core then gives a plain array) on a table with workers (its memory is
   * shared) or when the memory cannot hold it now: it grows only while no such output is live,
   * since growing detaches every array over the memory.
   */
  doAllocateOutput(length: number): Float32Array | null {
    if (this.parallelWorkers > 0) return null;
    const array = this.wasm.allocate(length);
    // The memory may have grown: views of its old buffer are detached.
    this.weightsView = this.wasm.table;
    this.views = this.wasm.views;
    return array;
  }

  /** Gives an output of {@link WasmTable.doAllocateOutput} back to the arena; any other array is ignored. */
  doReleaseOutput(array: Float32Array): void {
    this.wasm.release(array);
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
    const arena = this.wasm.arenaState();
    return {
      path: this.parallelWorkers > 0 ? 'wasm+workers' : 'wasm',
      shardCount: 1,
      shardRows: this.rows,
      storedBytes: this.rows * this.outputDim * 4,
      memoryBytes: this.views.f32.byteLength,
      outputArenaBytes: arena?.bytes ?? 0,
      outputArenaLiveBytes: arena?.liveBytes ?? 0,
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
    // Arena outputs still held are detached, so that none keeps the memory (and the table) alive.
    this.wasm.releaseAll();
    this.weightsView = new Float32Array(0);
    this.views = { f32: new Float32Array(0), i32: new Int32Array(0) };
    this.memory = new WebAssembly.Memory({ initial: 0 });
  }
}
