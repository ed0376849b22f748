import { describe, expect, it } from 'vitest';
import { randomWords as words } from '../testing/words.js';
import { instantiateKernel, type KernelExports, kernelModule } from './kernel.js';

// Every export of the gather kernel against a plain JavaScript gather, word for word, over every
// row width from 1 to 130 floats the export accepts, short and odd row counts (the 4-row groups
// and their tails), repeated ids and the table's last row, with table and output at 16-byte
// aligned and unaligned addresses, in a plain and in a shared memory.

const PAGE = 65536;
const ROWS = 11;
const MAX_WIDTH = 130;
const COUNTS = [0, 1, 3, 4, 5, 9, 13];
/** Ids with repeats and the last row: the first n of them (n = 1 is the last row alone). */
const IDS = [ROWS - 1, 0, ROWS - 1, 3, 3, 7, 1, ROWS - 1, 5, 2, 9, 4, 6];
const SENTINEL = 0xdeadbeef;

/** Which widths (in floats) an export accepts: gather any, gather16 and gather16x4 multiples of 16 bytes, gather64x4 of 64. */
const ACCEPTS: Record<keyof KernelExports, (width: number) => boolean> = {
  gather: () => true,
  gather16: (w) => w % 4 === 0,
  gather16x4: (w) => w % 4 === 0,
  gather64x4: (w) => w % 16 === 0,
};

interface Fixture {
  kernel: KernelExports;
  u32: Uint32Array;
}

function fixture(shared: boolean): Fixture {
  const module = kernelModule(shared);
  if (module === null) throw new Error('no WebAssembly kernel (bulk memory and SIMD) in this runtime');
  const memory = shared
    ? new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true })
    : new WebAssembly.Memory({ initial: 4, maximum: 4 });
  return { kernel: instantiateKernel(module, memory), u32: new Uint32Array(memory.buffer) };
}

/**
 * Runs `fn` over a fresh table of ROWS x width random words and returns the words from one row
 * before the output to one row after it, with what a plain JS gather (one word at a time) and
 * untouched sentinels around it would hold.
 */
function run(f: Fixture, fn: keyof KernelExports, width: number, n: number, misalign: number) {
  const { kernel, u32 } = f;
  const rowBytes = width * 4;
  const idsPtr = 64;
  const tablePtr = PAGE + misalign;
  const outPtr = 2 * PAGE + rowBytes + misalign; // one row of sentinels before the output
  const ids = IDS.slice(0, n);
  const table = words(width * 977 + n * 31 + misalign + fn.length, ROWS * width);
  u32.set(table, tablePtr / 4);
  new Int32Array(u32.buffer).set(ids, idsPtr / 4);
  const from = outPtr / 4 - width;
  const to = outPtr / 4 + (n + 1) * width;
  u32.fill(SENTINEL, from, to);
  kernel[fn](tablePtr, idsPtr, n, rowBytes, outPtr);
  const want = new Uint32Array(to - from).fill(SENTINEL);
  for (let i = 0; i < n; i++) for (let c = 0; c < width; c++) want[(i + 1) * width + c] = table[ids[i]! * width + c]!;
  return { got: u32.slice(from, to), want };
}

/** The first (width, n, misalign) case where `fn` differs from the JS gather, or null. */
function firstMismatch(f: Fixture, fn: keyof KernelExports): string | null {
  let cases = 0;
  for (let width = 1; width <= MAX_WIDTH; width++) {
    if (!ACCEPTS[fn](width)) continue;
    for (const n of COUNTS) {
      for (const misalign of [0, 4, 12]) {
        const { got, want } = run(f, fn, width, n, misalign);
        cases++;
        for (let i = 0; i < want.length; i++) {
          if (got[i] !== want[i])
            return `${fn}: width ${width} floats, n ${n}, misalign ${misalign}: word ${i - width} of the output is 0x${got[i]!.toString(16)}, expected 0x${want[i]!.toString(16)}`;
        }
      }
    }
  }
  expect(cases).toBeGreaterThan(0);
  return null;
}

describe('every kernel export equals a plain JS gather, bit for bit', () => {
  for (const shared of [false, true]) {
    describe(shared ? 'shared memory' : 'plain memory', () => {
      const f = fixture(shared);
      for (const fn of ['gather', 'gather16', 'gather16x4', 'gather64x4'] as const) {
        it(`${fn}: widths 1..${MAX_WIDTH} floats it accepts, n in ${COUNTS.join(', ')}, repeated ids, the last row`, () => {
          expect(firstMismatch(f, fn)).toBeNull();
        });
      }
    });
  }

  it('covers the widths each export is for: every width for gather, 32 for gather16x4, 8 for gather64x4', () => {
    const count = (fn: keyof KernelExports) => Array.from({ length: MAX_WIDTH }, (_, i) => i + 1).filter(ACCEPTS[fn]).length;
    expect([count('gather'), count('gather16'), count('gather16x4'), count('gather64x4')]).toEqual([130, 32, 32, 8]);
  });
});
