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

/** Float32 and Int32 views of a whole kernel memory (its size never changes: initial = maximum). */
export interface MemoryViews {
  /** The memory as floats. */
  readonly f32: Float32Array;
  /** The memory as int32 (for the index area). */
  readonly i32: Int32Array;
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

/**
 * A float32 table of `rows` x `width` in a WebAssembly memory that never grows (initial =
 * maximum), with the gather kernel instantiated over it: {@link WasmRows.table} is a
 * Float32Array view of the rows (write them there, a range at a time), and
 * {@link WasmRows.gather} copies rows out with the kernel, reading the table in place.
 */
export interface WasmRows {
  /** The memory: `slots` scratch slots, then the table. */
  readonly memory: WebAssembly.Memory;
  /** The compiled kernel (plain or shared memory), for workers that instantiate it over `memory`. */
  readonly module: WebAssembly.Module;
  /** The kernel's instance over `memory`. */
  readonly kernel: KernelExports;
  /** Where the slots and the table sit. */
  readonly layout: MemoryLayout;
  /** Views of the whole memory. */
  readonly views: MemoryViews;
  /** The table's rows: a view of `rows * width` floats at `layout.tablePtr`. */
  readonly table: Float32Array;
  /** Copies rows `ids` (valid row numbers, not checked) into `out` (`ids.length * width` floats), through slot 0. */
  gather(ids: Int32Array, out: Float32Array): void;
}

/** Options of {@link createWasmRows}. */
export interface WasmRowsOptions {
  /** Scratch slots in front of the table (one per thread that gathers). Default 1. */
  slots?: number;
  /** A shared memory (for worker threads). Default false. */
  shared?: boolean;
}

/**
 * A {@link WasmRows} of `rows` x `width` floats (zero-filled), or null where the kernel is
 * unavailable (no WebAssembly with bulk memory and SIMD), the table does not fit in one wasm32
 * memory (4 GiB with the slots), or the engine refuses a memory of that size.
 */
export function createWasmRows(rows: number, width: number, options: WasmRowsOptions = {}): WasmRows | null {
  const shared = options.shared ?? false;
  const module = kernelModule(shared);
  if (module === null) return null;
  const layout = memoryLayout(rows, width, options.slots ?? 1);
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
  const kernel = instantiateKernel(module, memory);
  const buffer = memory.buffer;
  const views: MemoryViews = { f32: new Float32Array(buffer), i32: new Int32Array(buffer) };
  const table = new Float32Array(buffer, layout.tablePtr, rows * width);
  return {
    memory,
    module,
    kernel,
    layout,
    views,
    table,
    gather(ids: Int32Array, out: Float32Array): void {
      gatherChunks(kernel, views, layout, 0, ids, 0, ids.length, out);
    },
  };
}
