import { instantiateKernel, type KernelExports, kernelModule } from './kernel.js';

const PAGE = 65536;
/** Largest wasm32 memory: 65,536 pages of 64 KiB. */
export const MAX_WASM_BYTES = 65536 * PAGE;
/** Rows are gathered in chunks of about this many bytes into a scratch area that stays in L2, then copied out in one `set`. */
const CHUNK_BYTES = 256 * 1024;
/** Slack after each scratch area, to place it at any offset modulo a 4 KiB page (see `scratchFor`). */
const ALIGN_SLACK = 4096;

/** Where a thread's scratch and index areas sit in a kernel memory. Slot 0 is the main thread's; slot k the k-th worker's. */
export interface MemoryLayout {
  /** Bytes per row (`width * 4`). */
  readonly rowBytes: number;
  /** Rows per chunk: what one slot's scratch area holds. */
  readonly chunkRows: number;
  /** Bytes per slot (scratch, alignment slack, indices), a multiple of 64. */
  readonly slotBytes: number;
  /** Byte offset of the table (row 0) in the memory, after the slots. */
  readonly tablePtr: number;
  /** Bytes the memory needs: slots and table. */
  readonly totalBytes: number;
}

/** The layout of a table of `rows` x `width` floats with `slots` thread slots in front of it. */
export function memoryLayout(rows: number, width: number, slots: number): MemoryLayout {
  const rowBytes = width * 4;
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

/**
 * Float32 and Int32 views of a whole kernel memory. Its size never changes, except for a
 * `growable` {@link WasmRows} whose output arena grows (then {@link WasmRows.views} is a new
 * object over the new buffer).
 */
export interface MemoryViews {
  /** The memory as floats. */
  readonly f32: Float32Array;
  /** The memory as int32 (for the index area). */
  readonly i32: Int32Array;
}

/** Arena blocks start (and are sized) at multiples of this many bytes. */
const BLOCK_ALIGN = 64;
/** Arena bytes reserved at least whenever the memory grows for a block. */
const MIN_ARENA = 1 << 20;

/** The kernel function that gathers rows of `rowBytes` (any width; SIMD for multiples of 16 bytes). */
function kernelFor(kernel: KernelExports, rowBytes: number): KernelExports['gather'] {
  return rowBytes % 16 === 0 ? kernel.gather16x4 : kernel.gather;
}

/**
 * Gathers rows `ids[from, to)` of the table at `layout.tablePtr` into `out` (element offset of
 * `ids[from]` = `from * width`), chunk by chunk: the kernel copies a chunk into the slot's
 * scratch area (WebAssembly cannot write into an ArrayBuffer it does not own), then one `set`
 * copies it out. Ids must be valid rows (the kernel does not check them). Bit-exact (bytes are
 * moved, never computed with).
 */
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
  const run = kernelFor(kernel, rowBytes);
  for (let a = from; a < to; a += chunkRows) {
    const b = Math.min(to, a + chunkRows);
    const count = b - a;
    i32.set(a === 0 && b === ids.length ? ids : ids.subarray(a, b), idsPtr >> 2);
    const scratch = scratchFor(layout, slot, out.byteOffset + a * rowBytes);
    run(tablePtr, idsPtr, count, rowBytes, scratch);
    const s = scratch >> 2;
    out.set(f32.subarray(s, s + count * d), a * d);
  }
}

/**
 * {@link gatherChunks} for an `out` that lies in the kernel's own memory (an output arena
 * block, never over the slots or the table): one pass, the kernel writes every row straight to
 * its place in `out`. Only the indices go through the slot, as many per chunk as the whole slot
 * holds (its scratch area is not needed). Bit-exact.
 */
function gatherInPlace(
  kernel: KernelExports,
  views: MemoryViews,
  layout: MemoryLayout,
  slot: number,
  ids: Int32Array,
  from: number,
  to: number,
  out: Float32Array,
): void {
  const { rowBytes, tablePtr, slotBytes } = layout;
  const idsPtr = slot * slotBytes;
  const perChunk = slotBytes >> 2;
  const run = kernelFor(kernel, rowBytes);
  const i32 = views.i32;
  for (let a = from; a < to; a += perChunk) {
    const b = Math.min(to, a + perChunk);
    i32.set(a === 0 && b === ids.length ? ids : ids.subarray(a, b), idsPtr >> 2);
    run(tablePtr, idsPtr, b - a, rowBytes, out.byteOffset + a * rowBytes);
  }
}

/** What a {@link WasmRows} output arena holds (byte offsets in the kernel memory). */
export interface ArenaState {
  /** First byte of the arena: the end of the table rounded up to 64 bytes. */
  readonly base: number;
  /** Bytes from `base` to the end of the memory (what blocks may use now). */
  readonly bytes: number;
  /** Bytes in live blocks (each rounded up to 64). */
  readonly liveBytes: number;
  /** Live blocks as `[start, end)` byte ranges, in address order. */
  readonly blocks: readonly (readonly [number, number])[];
}

/**
 * A float32 table of `rows` x `width` in a WebAssembly memory with the gather kernel
 * instantiated over it: {@link WasmRows.table} is a Float32Array view of the rows (write them
 * there, a range at a time), and {@link WasmRows.gather} copies rows out with the kernel,
 * reading the table in place. The memory never grows (initial = maximum) unless it was created
 * `growable`: then it may have an output arena after the table ({@link WasmRows.allocate}),
 * whose arrays the kernel writes in one pass.
 */
export interface WasmRows {
  /** The memory: `slots` scratch slots, then the table (then, when growable, the output arena). */
  readonly memory: WebAssembly.Memory;
  /** The compiled kernel (plain or shared memory), for workers that instantiate it over `memory`. */
  readonly module: WebAssembly.Module;
  /** The kernel's instance over `memory`. */
  readonly kernel: KernelExports;
  /** Where the slots and the table sit. */
  readonly layout: MemoryLayout;
  /** Views of the whole memory (new ones after {@link WasmRows.allocate} grew the memory: read it again then). */
  readonly views: MemoryViews;
  /** The table's rows: a view of `rows * width` floats at `layout.tablePtr` (new after the memory grew, same bytes). */
  readonly table: Float32Array;
  /**
   * Copies rows `ids` (valid row numbers, not checked) into `out` (`ids.length * width` floats),
   * through slot 0: in one pass when `out` lies inside a live arena block
   * ({@link WasmRows.inArena}), else through the scratch area and one `set`.
   */
  gather(ids: Int32Array, out: Float32Array): void;
  /**
   * A Float32Array of `length` values in the output arena (after the table, 64-byte aligned,
   * zero-filled the first time its bytes are used, else holding what a released block held),
   * live until {@link WasmRows.release}; or null when this memory has no arena (not growable,
   * or shared), `length` is not a positive integer, or no free range fits and the memory cannot
   * grow: growing detaches the memory's buffer and every view of it, so it grows only while no
   * block is live (then to room for two blocks of this size, or 1 MiB), and never past 4 GiB or
   * what the engine allows. Growth keeps the table's bytes; read {@link WasmRows.views} and
   * {@link WasmRows.table} again after a call.
   */
  allocate(length: number): Float32Array | null;
  /**
   * Gives back an array {@link WasmRows.allocate} returned (the same object): its bytes may back
   * a later block. Anything else (another array, a subarray, a block already released, an array
   * of an older buffer) is refused: nothing changes and the result is false.
   */
  release(array: Float32Array): boolean;
  /** Whether `array` lies entirely inside one live arena block of the memory's current buffer. */
  inArena(array: Float32Array): boolean;
  /** Releases every block and detaches every array handed out (`memory.grow(0)`), so none keeps the memory alive; the arena stays usable. */
  releaseAll(): void;
  /** The arena's extent and live blocks, or null without an arena. */
  arenaState(): ArenaState | null;
}

/** Options of {@link createWasmRows}. */
export interface WasmRowsOptions {
  /** Scratch slots in front of the table (one per thread that gathers). Default 1. */
  slots?: number;
  /** A shared memory (for worker threads). Default false. */
  shared?: boolean;
  /**
   * A memory that may grow (maximum 65,536 pages, 4 GiB) to hold an output arena after the
   * table ({@link WasmRows.allocate}). Default false: the memory never grows, so its buffer (and
   * every view of it) stays valid for good. Ignored with `shared` (shared memories make
   * `TypedArray.set` slower, and worker tables have no arena).
   */
  growable?: boolean;
}

/** First-fit allocator of 64-byte aligned blocks in [base, end) of a memory; grows the memory only while no block is live. */
class OutputArena {
  /** Free ranges, disjoint, in address order, never adjacent (merged on release). */
  private readonly freeStarts: number[] = [];
  private readonly freeEnds: number[] = [];
  /** Live blocks by start: their end and the array handed out. */
  private readonly live = new Map<number, { end: number; array: Float32Array }>();
  /** Starts of live blocks in address order (for {@link OutputArena.containing}). */
  private readonly liveStarts: number[] = [];
  private liveBytes = 0;
  end: number;

  constructor(
    readonly base: number,
    end: number,
  ) {
    this.end = end;
    if (end > base) {
      this.freeStarts.push(base);
      this.freeEnds.push(end);
    }
  }

  /** A block of `bytes` (a multiple of 64) from the free list, or -1. */
  take(bytes: number): number {
    const starts = this.freeStarts;
    const ends = this.freeEnds;
    for (let i = 0; i < starts.length; i++) {
      const start = starts[i]!;
      if (ends[i]! - start < bytes) continue;
      if (ends[i]! - start === bytes) {
        starts.splice(i, 1);
        ends.splice(i, 1);
      } else {
        starts[i] = start + bytes;
      }
      return start;
    }
    return -1;
  }

  get liveCount(): number {
    return this.live.size;
  }

  add(start: number, bytes: number, array: Float32Array): void {
    this.live.set(start, { end: start + bytes, array });
    this.liveStarts.splice(upperBound(this.liveStarts, start), 0, start);
    this.liveBytes += bytes;
  }

  /** Frees the block handed out as `array`; false when `array` is not one. */
  remove(array: Float32Array): boolean {
    const block = this.live.get(array.byteOffset);
    if (block === undefined || block.array !== array) return false;
    const start = array.byteOffset;
    this.live.delete(start);
    this.liveStarts.splice(upperBound(this.liveStarts, start) - 1, 1);
    this.liveBytes -= block.end - start;
    this.free(start, block.end);
    return true;
  }

  /** Adds [start, end) to the free list, merged with its neighbours. */
  private free(start: number, end: number): void {
    const starts = this.freeStarts;
    const ends = this.freeEnds;
    const i = upperBound(starts, start);
    const mergeLeft = i > 0 && ends[i - 1] === start;
    const mergeRight = i < starts.length && starts[i] === end;
    if (mergeLeft && mergeRight) {
      ends[i - 1] = ends[i]!;
      starts.splice(i, 1);
      ends.splice(i, 1);
    } else if (mergeLeft) {
      ends[i - 1] = end;
    } else if (mergeRight) {
      starts[i] = start;
    } else {
      starts.splice(i, 0, start);
      ends.splice(i, 0, end);
    }
  }

  /** Whether [start, end) lies inside one live block. */
  containing(start: number, end: number): boolean {
    const exact = this.live.get(start);
    if (exact !== undefined) return end <= exact.end;
    const i = upperBound(this.liveStarts, start) - 1;
    if (i < 0) return false;
    return end <= this.live.get(this.liveStarts[i]!)!.end;
  }

  /** Forgets every block: the whole arena, up to `end`, is one free range. */
  reset(end: number): void {
    this.live.clear();
    this.liveStarts.length = 0;
    this.liveBytes = 0;
    this.end = end;
    this.freeStarts.length = 0;
    this.freeEnds.length = 0;
    if (end > this.base) {
      this.freeStarts.push(this.base);
      this.freeEnds.push(end);
    }
  }

  state(): ArenaState {
    const blocks = this.liveStarts.map((s) => [s, this.live.get(s)!.end] as const);
    return { base: this.base, bytes: this.end - this.base, liveBytes: this.liveBytes, blocks };
  }
}

/** The number of values in sorted `values` that are <= `x`. */
function upperBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class KernelRows implements WasmRows {
  views!: MemoryViews;
  table!: Float32Array;
  private readonly arena: OutputArena | null;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly module: WebAssembly.Module,
    readonly kernel: KernelExports,
    readonly layout: MemoryLayout,
    private readonly length: number,
    growable: boolean,
  ) {
    this.refresh();
    const tableEnd = layout.tablePtr + length * 4;
    const base = Math.ceil(tableEnd / BLOCK_ALIGN) * BLOCK_ALIGN;
    this.arena = growable ? new OutputArena(base, memory.buffer.byteLength) : null;
  }

  /** New views over the memory's current buffer. */
  private refresh(): void {
    const buffer = this.memory.buffer;
    this.views = { f32: new Float32Array(buffer), i32: new Int32Array(buffer) };
    this.table = new Float32Array(buffer, this.layout.tablePtr, this.length);
  }

  gather(ids: Int32Array, out: Float32Array): void {
    if (this.inArena(out)) gatherInPlace(this.kernel, this.views, this.layout, 0, ids, 0, ids.length, out);
    else gatherChunks(this.kernel, this.views, this.layout, 0, ids, 0, ids.length, out);
  }

  inArena(array: Float32Array): boolean {
    const arena = this.arena;
    if (arena === null || arena.liveCount === 0 || array.buffer !== this.views.f32.buffer) return false;
    return arena.containing(array.byteOffset, array.byteOffset + array.byteLength);
  }

  allocate(length: number): Float32Array | null {
    const arena = this.arena;
    if (arena === null || !Number.isSafeInteger(length) || length < 1) return null;
    const bytes = Math.ceil((length * 4) / BLOCK_ALIGN) * BLOCK_ALIGN;
    // Growth detaches every view of the memory: only while nothing is handed out.
    if (arena.liveCount === 0) this.reserve(arena, bytes);
    const start = arena.take(bytes);
    if (start < 0) return null;
    const array = new Float32Array(this.memory.buffer, start, length);
    arena.add(start, bytes, array);
    return array;
  }

  /**
   * With nothing live, grows the memory, if needed, so that the arena holds two blocks of
   * `bytes` (or 1 MiB), since later blocks can only be placed while one is live: pages never
   * written cost address space, not memory. Else (4 GiB, the engine refuses) at least one
   * block, else nothing. Refreshes the views after growing.
   */
  private reserve(arena: OutputArena, bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (arena.base + bytes > MAX_WASM_BYTES) return;
    for (const target of [Math.min(MAX_WASM_BYTES, arena.base + Math.max(2 * bytes, MIN_ARENA)), arena.base + bytes]) {
      if (target <= have) return;
      try {
        this.memory.grow(Math.ceil((target - have) / PAGE));
      } catch {
        continue;
      }
      this.refresh();
      arena.reset(this.memory.buffer.byteLength);
      return;
    }
  }

  release(array: Float32Array): boolean {
    const arena = this.arena;
    if (arena === null || array.buffer !== this.memory.buffer) return false;
    return arena.remove(array);
  }

  releaseAll(): void {
    const arena = this.arena;
    if (arena === null || arena.liveCount === 0) return;
    // grow(0) still replaces the buffer: every array of the old one is detached (length 0).
    this.memory.grow(0);
    this.refresh();
    arena.reset(this.memory.buffer.byteLength);
  }

  arenaState(): ArenaState | null {
    return this.arena?.state() ?? null;
  }
}

/**
 * A {@link WasmRows} of `rows` x `width` floats (zero-filled), or null where the kernel is
 * unavailable (no WebAssembly with bulk memory and SIMD), the table does not fit in one wasm32
 * memory (4 GiB with the slots), or the engine refuses a memory of that size.
 */
export function createWasmRows(rows: number, width: number, options: WasmRowsOptions = {}): WasmRows | null {
  const shared = options.shared ?? false;
  const growable = !shared && (options.growable ?? false);
  const module = kernelModule(shared);
  if (module === null) return null;
  const layout = memoryLayout(rows, width, options.slots ?? 1);
  if (layout.totalBytes > MAX_WASM_BYTES) return null;
  const pages = Math.max(1, Math.ceil(layout.totalBytes / PAGE));
  let memory: WebAssembly.Memory;
  try {
    memory = shared
      ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
      : new WebAssembly.Memory({ initial: pages, maximum: growable ? MAX_WASM_BYTES / PAGE : pages });
  } catch {
    return null;
  }
  const kernel = instantiateKernel(module, memory);
  return new KernelRows(memory, module, kernel, layout, rows * width, growable);
}
