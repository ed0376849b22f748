import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Test helper (not shipped): a full garbage collection, with `global.gc` when exposed, else enabled at run time. */
export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) {
    exposed();
    return;
  }
  // V8 exposes gc() to contexts created after the flag is set.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Heap figures after a full collection, in bytes: the JS heap in use and the ArrayBuffer memory outside it. */
export function settledHeap(): { heapUsed: number; arrayBuffers: number } {
  collectGarbage();
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}

/** Growth bound asserted by the leak tests: 10 MB of JS heap and 10 MB of ArrayBuffers. */
export const HEAP_GROWTH_BOUND = 10 * 2 ** 20;
