import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** For leak tests (Node): a full garbage collection, with `global.gc` when exposed, else enabled at run time. */
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

/** Heap figures of {@link settledHeap}. */
export type HeapFigures = ReturnType<typeof settledHeap>;

/** Prints one leak test's growth of the JS heap and of ArrayBuffer memory against {@link HEAP_GROWTH_BOUND}. */
export function reportHeapGrowth(label: string, before: HeapFigures, after: HeapFigures): void {
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(2)} MB`;
  console.info(
    `[leak] ${label}: heapUsed ${mb(after.heapUsed - before.heapUsed)}, arrayBuffers ${mb(after.arrayBuffers - before.arrayBuffers)}; bound ${mb(HEAP_GROWTH_BOUND)} each`,
  );
}
