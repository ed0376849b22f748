import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { randomWords as bits } from '../testing/words.js';
import { createWasmRows, MAX_WASM_BYTES, type WasmRows } from './gather.js';

describe('the kernel', () => {
  it('src/kernel/generated/kernel-wasm.ts is what wasm/kernel.wat compiles to', () => {
    const script = fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url));
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toContain('matches');
  });
});

/** A growable kernel table of rows x width whose rows hold distinct bit patterns (NaN payloads, -0 included), and a copy of those bits. */
function arenaTable(rows: number, width: number, options: { growable?: boolean; shared?: boolean } = { growable: true }) {
  const wasm = createWasmRows(rows, width, options);
  if (wasm === null) throw new Error('no WebAssembly kernel here');
  const pattern = bits(rows * 7 + width, rows * width);
  new Uint32Array(wasm.table.buffer, wasm.table.byteOffset, wasm.table.length).set(pattern);
  return { wasm, pattern };
}

/** The lookup computed independently, one 32-bit word at a time. */
function referenceGather(pattern: Uint32Array, width: number, ids: Int32Array): Uint32Array {
  const out = new Uint32Array(ids.length * width);
  for (let i = 0; i < ids.length; i++) for (let c = 0; c < width; c++) out[i * width + c] = pattern[ids[i]! * width + c]!;
  return out;
}

const wordsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The first index where the words differ, -1 when equal (deep equality is too slow at M). */
function firstDiff(got: Uint32Array, want: Uint32Array): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return i;
  return -1;
}

function randomIds(count: number, rows: number, seed: number): Int32Array {
  const r = bits(seed, count);
  return Int32Array.from(r, (x) => x % rows);
}

/** The byte ranges a block must never overlap: the slots (scratch and index areas) and the table. */
function reserved(wasm: WasmRows): [number, number] {
  return [0, wasm.layout.tablePtr + wasm.table.byteLength];
}

describe('WasmRows output arena', () => {
  it('arena outputs hold exactly the rows a JS reference gathers, for S- and M-like shapes, odd widths, empty and 1-row lookups', () => {
    const cases: [number, number, number][] = [
      [1000, 64, 320],
      [50_000, 128, 16_384],
      [257, 1, 140_000], // more ids than one slot holds: several index chunks
      [300, 128, 70_000], // the same for 512-byte rows
      [257, 3, 3001],
      [257, 5, 3001],
      [257, 17, 3001],
      [257, 64, 1],
      [257, 128, 0],
      [10, 17, 1],
    ];
    for (const [rows, width, n] of cases) {
      const { wasm, pattern } = arenaTable(rows, width);
      const ids = randomIds(n, rows, rows + width + n);
      const want = referenceGather(pattern, width, ids);
      if (n > 50_000) expect(n, 'several index chunks').toBeGreaterThan(wasm.layout.slotBytes / 4);
      const out = wasm.allocate(Math.max(1, n * width));
      expect(out, `${rows}x${width}`).not.toBeNull();
      const into = out!.subarray(0, n * width);
      expect(wasm.inArena(into)).toBe(true);
      wasm.gather(ids, into);
      expect(firstDiff(wordsOf(into), want), `${rows}x${width}, ${n} ids`).toBe(-1);
      // The same through a plain array (the two-pass path) for comparison.
      const plain = new Float32Array(n * width);
      wasm.gather(ids, plain);
      expect(firstDiff(wordsOf(plain), want), `plain ${rows}x${width}, ${n} ids`).toBe(-1);
    }
  });

  it('an arena lookup is one pass: the scratch area is untouched, only the indices go through the slot', () => {
    for (const width of [3, 64]) {
      const { wasm, pattern } = arenaTable(500, width);
      const n = 200;
      const ids = randomIds(n, 500, 9);
      const out = wasm.allocate(n * width)!;
      const u32 = new Uint32Array(wasm.memory.buffer);
      const slotWords = wasm.layout.slotBytes / 4;
      u32.fill(0xa5a5a5a5, 0, slotWords);
      wasm.gather(ids, out);
      expect(firstDiff(wordsOf(out), referenceGather(pattern, width, ids))).toBe(-1);
      // The indices went to the start of the slot; every other byte of the slot is as it was.
      expect(Array.from(u32.subarray(0, n))).toEqual(Array.from(ids));
      expect(
        u32.subarray(n, slotWords).every((w) => w === 0xa5a5a5a5),
        `width ${width}`,
      ).toBe(true);
    }
  });

  it('blocks are 64-byte aligned, never overlap each other, the slots or the table, and released memory is reused', () => {
    const { wasm } = arenaTable(300, 5);
    const [, tableEnd] = reserved(wasm);
    const live = new Map<Float32Array, [number, number, number]>();
    const check = () => {
      const ranges = [...live.values()].sort((a, b) => a[0] - b[0]);
      for (const [start, end] of ranges) {
        expect(start % 64).toBe(0);
        expect(start).toBeGreaterThanOrEqual(tableEnd);
        expect(end).toBeLessThanOrEqual(wasm.memory.buffer.byteLength);
      }
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
      expect(wasm.arenaState()!.blocks.map(([s]) => s)).toEqual(ranges.map(([s]) => s));
    };
    const sizes = bits(77, 120);
    let grewOnce = false;
    for (let step = 0; step < 120; step++) {
      const r = sizes[step]!;
      if (r % 3 === 0 && live.size > 0) {
        const victim = [...live.keys()][r % live.size]!;
        expect(wasm.release(victim)).toBe(true);
        live.delete(victim);
      } else {
        const length = 1 + (r % 5000);
        const before = wasm.memory.buffer.byteLength;
        const array = wasm.allocate(length);
        if (array === null) {
          // Only refused when it does not fit and a block is live (growth would detach it).
          expect(live.size).toBeGreaterThan(0);
          continue;
        }
        if (wasm.memory.buffer.byteLength !== before) {
          expect(live.size).toBe(0);
          grewOnce = true;
        }
        expect(array.length).toBe(length);
        array.fill(step);
        live.set(array, [array.byteOffset, array.byteOffset + Math.ceil((length * 4) / 64) * 64, step]);
      }
      check();
      // Every live block still holds what was written into it: no block was handed out twice.
      for (const [array, [, , value]] of live) expect(array.every((v) => v === value)).toBe(true);
    }
    expect(grewOnce).toBe(true);
    // Released memory is reused: the same size right after a release gets the same place.
    const a = wasm.allocate(1000)!;
    const at = a.byteOffset;
    expect(wasm.release(a)).toBe(true);
    const b = wasm.allocate(1000)!;
    expect(b.byteOffset).toBe(at);
    // A first-fit hole between two live blocks is filled.
    const c = wasm.allocate(16)!;
    const d = wasm.allocate(16)!;
    const e = wasm.allocate(16)!;
    wasm.release(d);
    expect(wasm.allocate(16)!.byteOffset).toBe(d.byteOffset);
    expect(c.byteOffset < d.byteOffset && d.byteOffset < e.byteOffset).toBe(true);
  });

  it('refuses to release what is not a live block, and changes nothing then', () => {
    const { wasm } = arenaTable(100, 8);
    const a = wasm.allocate(64)!;
    const b = wasm.allocate(64)!;
    const before = wasm.arenaState();
    expect(wasm.release(new Float32Array(64))).toBe(false);
    expect(wasm.release(a.subarray(16))).toBe(false);
    expect(wasm.release(new Float32Array(a.buffer, a.byteOffset, a.length))).toBe(false);
    expect(wasm.release(wasm.table)).toBe(false);
    expect(wasm.arenaState()).toEqual(before);
    expect(wasm.release(a)).toBe(true);
    expect(wasm.release(a)).toBe(false);
    expect(wasm.arenaState()!.blocks).toEqual([[b.byteOffset, b.byteOffset + 256]]);
    // A released array is no longer an arena output: lookups into it take the two-pass path.
    expect(wasm.inArena(a)).toBe(false);
    expect(wasm.inArena(b)).toBe(true);
    expect(wasm.inArena(wasm.table)).toBe(false);
  });

  it('grows when nothing is live: the table keeps its bytes and every view is refreshed', () => {
    const { wasm, pattern } = arenaTable(1000, 64);
    const oldTable = wasm.table;
    const oldViews = wasm.views;
    const oldBytes = wasm.memory.buffer.byteLength;
    const big = wasm.allocate(4_000_000)!;
    expect(big).not.toBeNull();
    expect(wasm.memory.buffer.byteLength).toBeGreaterThanOrEqual(oldBytes + 16_000_000);
    // The old views are detached; the new ones cover the new buffer.
    expect(oldTable.length).toBe(0);
    expect(oldViews.f32.length).toBe(0);
    expect(wasm.views.f32.buffer).toBe(wasm.memory.buffer);
    expect(wasm.views.i32.byteLength).toBe(wasm.memory.buffer.byteLength);
    expect(wasm.table.buffer).toBe(wasm.memory.buffer);
    expect(firstDiff(wordsOf(wasm.table), pattern)).toBe(-1);
    const ids = randomIds(62_500, 1000, 3);
    wasm.gather(ids, big);
    expect(firstDiff(wordsOf(big), referenceGather(pattern, 64, ids))).toBe(-1);
    // Growth left room for a second block of that size: placed while the first is live.
    const second = wasm.allocate(4_000_000);
    expect(second).not.toBeNull();
    expect(big.length).toBe(4_000_000);
  });

  it('refuses to grow while a block is live (null), and the arrays handed out stay valid', () => {
    const { wasm, pattern } = arenaTable(1000, 64);
    const a = wasm.allocate(320 * 64)!;
    const ids = randomIds(320, 1000, 11);
    wasm.gather(ids, a);
    const bytes = wasm.memory.buffer.byteLength;
    const room = wasm.arenaState()!.bytes;
    expect(wasm.allocate(room)).toBeNull();
    expect(wasm.memory.buffer.byteLength).toBe(bytes);
    expect(a.length).toBe(320 * 64);
    expect(a.buffer).toBe(wasm.memory.buffer);
    expect(firstDiff(wordsOf(a), referenceGather(pattern, 64, ids))).toBe(-1);
    // Past 4 GiB: refused without trying, even with nothing live.
    wasm.release(a);
    expect(wasm.allocate(MAX_WASM_BYTES / 4)).toBeNull();
    expect(wasm.memory.buffer.byteLength).toBe(bytes);
  });

  it('releaseAll detaches every array handed out; the arena is usable afterwards', () => {
    const { wasm, pattern } = arenaTable(100, 8);
    const a = wasm.allocate(80)!;
    wasm.releaseAll();
    expect(a.length).toBe(0);
    expect(wasm.arenaState()!.liveBytes).toBe(0);
    expect(firstDiff(wordsOf(wasm.table), pattern)).toBe(-1);
    const b = wasm.allocate(80)!;
    const ids = Int32Array.of(99, 0, 42, 7, 7, 3, 1, 2, 5, 60);
    wasm.gather(ids, b);
    expect(firstDiff(wordsOf(b), referenceGather(pattern, 8, ids))).toBe(-1);
  });

  it('has no arena unless growable, and never with a shared memory', () => {
    const plain = arenaTable(100, 8, {}).wasm;
    expect(plain.allocate(10)).toBeNull();
    expect(plain.arenaState()).toBeNull();
    const shared = arenaTable(100, 8, { shared: true, growable: true }).wasm;
    expect(shared.allocate(10)).toBeNull();
    expect(shared.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    // A fixed memory refuses to grow at all (its buffer, and adapter-tfjs's WeakMap key, never change).
    expect(() => plain.memory.grow(1)).toThrow();
  });

  it('refuses lengths that are not positive integers', () => {
    const { wasm } = arenaTable(10, 4);
    for (const length of [0, -1, 1.5, Number.NaN]) expect(wasm.allocate(length)).toBeNull();
  });
});
