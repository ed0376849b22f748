import { KERNEL_WASM, KERNEL_WASM_SHARED } from './generated/kernel-wasm.js';

/** The exports of core's row-gather kernel (`wasm/kernel.wat`), as {@link instantiateKernel} returns them. */
export interface KernelExports {
  /** One `memory.copy` per row. */
  gather(table: number, ids: number, n: number, rowBytes: number, out: number): void;
  /** Inline 128-bit SIMD copies; rowBytes must be a multiple of 16. */
  gather16(table: number, ids: number, n: number, rowBytes: number, out: number): void;
  /**
   * gather16 four rows at a time, interleaved, so four rows' cache and TLB misses overlap.
   * Rows of a multiple of 64 bytes take gather64x4: 64 bytes of each row per iteration, with
   * immediate offsets (10-20% less time than 16 bytes per iteration, bench/profile/kernel-probe.mjs).
   */
  gather16x4(table: number, ids: number, n: number, rowBytes: number, out: number): void;
  /** gather16x4's path for rowBytes a multiple of 64 (callers use gather16x4, which picks it). */
  gather64x4(table: number, ids: number, n: number, rowBytes: number, out: number): void;
}

function decodeBase64(text: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B) return new Uint8Array(B.from(text, 'base64'));
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let plain: WebAssembly.Module | null | undefined;
let shared: WebAssembly.Module | null | undefined;

/**
 * The compiled kernel (plain or shared memory), or null where WebAssembly (with bulk memory
 * and SIMD) is unavailable. Compiled once, synchronously: the module is under 1 kB, which
 * every browser allows on the main thread.
 */
export function kernelModule(sharedMemory: boolean): WebAssembly.Module | null {
  if (sharedMemory) {
    if (shared === undefined) shared = compile(KERNEL_WASM_SHARED);
    return shared;
  }
  if (plain === undefined) plain = compile(KERNEL_WASM);
  return plain;
}

function compile(base64: string): WebAssembly.Module | null {
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.Module !== 'function') return null;
    return new WebAssembly.Module(decodeBase64(base64) as Uint8Array<ArrayBuffer>);
  } catch {
    return null;
  }
}

/** Instantiates the kernel over `memory`. */
export function instantiateKernel(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}
