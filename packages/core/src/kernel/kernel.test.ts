import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { instantiateKernel, type KernelExports, kernelModule } from './kernel.js';

const PAGE = 65536;
const ROWS = 37;

/** xorshift32 bits: every 32-bit pattern is possible, NaN payloads and negative zero included. */
function bits(seed: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s >>> 0;
  }
  return out;
}

/** Runs `fn` of the kernel over a table of ROWS rows of rowBytes and returns the gathered bytes, and the expected ones. */
function gatherBits(shared: boolean, fn: keyof KernelExports, rowBytes: number, ids: number[]): { got: Uint32Array; want: Uint32Array } {
  const module = kernelModule(shared);
  if (module === null) throw new Error('no WebAssembly kernel here');
  const memory = shared
    ? new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true })
    : new WebAssembly.Memory({ initial: 4, maximum: 4 });
  const kernel = instantiateKernel(module, memory);
  const words = rowBytes / 4;
  const tablePtr = PAGE;
  const idsPtr = 16;
  const outPtr = 2 * PAGE + 16;
  const table = bits(rowBytes * 131 + ids.length, ROWS * words);
  const u32 = new Uint32Array(memory.buffer);
  u32.set(table, tablePtr / 4);
  new Int32Array(memory.buffer).set(ids, idsPtr / 4);
  // Sentinels after the output catch a write past its end.
  u32.fill(0xdeadbeef, outPtr / 4, outPtr / 4 + (ids.length + 1) * words);
  kernel[fn](tablePtr, idsPtr, ids.length, rowBytes, outPtr);
  const got = u32.slice(outPtr / 4, outPtr / 4 + (ids.length + 1) * words);
  const want = new Uint32Array((ids.length + 1) * words).fill(0xdeadbeef);
  for (const [i, id] of ids.entries()) want.set(table.subarray(id * words, (id + 1) * words), i * words);
  return { got, want };
}

const COUNTS = [0, 1, 3, 4, 5, 8, 11, 17];
const idsOf = (n: number) => Array.from({ length: n }, (_, i) => (i * 23 + 5) % ROWS);

describe('wasm kernel', () => {
  for (const shared of [false, true]) {
    describe(shared ? 'shared memory' : 'plain memory', () => {
      it('gather copies every row bit for bit, for any row width', () => {
        for (const rowBytes of [4, 12, 64, 260]) {
          for (const n of COUNTS) {
            const { got, want } = gatherBits(shared, 'gather', rowBytes, idsOf(n));
            expect(got, `rowBytes ${rowBytes}, n ${n}`).toEqual(want);
          }
        }
      });

      it('gather16 and gather16x4 (and its 64-byte path gather64x4) copy every row bit for bit for widths of 16k bytes', () => {
        for (const fn of ['gather16', 'gather16x4'] as const) {
          for (const rowBytes of [16, 48, 64, 128, 192, 256, 1024]) {
            for (const n of COUNTS) {
              const { got, want } = gatherBits(shared, fn, rowBytes, idsOf(n));
              expect(got, `${fn}, rowBytes ${rowBytes}, n ${n}`).toEqual(want);
            }
          }
        }
        for (const rowBytes of [64, 192, 1024]) {
          for (const n of COUNTS) {
            const { got, want } = gatherBits(shared, 'gather64x4', rowBytes, idsOf(n));
            expect(got, `gather64x4, rowBytes ${rowBytes}, n ${n}`).toEqual(want);
          }
        }
      });
    });
  }
});

describe('the kernel', () => {
  it('src/kernel/generated/kernel-wasm.ts is what wasm/kernel.wat compiles to', () => {
    const script = fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url));
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toContain('matches');
  });
});
