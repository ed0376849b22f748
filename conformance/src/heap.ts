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

/**
 * Fixed slack of {@link heapGrowthBound} for the collector's own noise (seen: under 1 MB after
 * 10,000+ calls on every backend here).
 */
export const HEAP_GROWTH_SLACK = 2 * 2 ** 20;

/**
 * Bytes a leak test lets the heap (and ArrayBuffer memory) grow per call on top of
 * {@link HEAP_GROWTH_SLACK}. A backend that keeps each output alive grows by the output's bytes
 * plus ~100 bytes of objects per call, far above this.
 */
export const HEAP_GROWTH_PER_CALL = 32;

/** The growth a leak test accepts after `calls` calls: {@link HEAP_GROWTH_SLACK} + calls x {@link HEAP_GROWTH_PER_CALL}. */
export function heapGrowthBound(calls: number): number {
  return HEAP_GROWTH_SLACK + calls * HEAP_GROWTH_PER_CALL;
}

/**
 * Checks the growth of the JS heap and of ArrayBuffer memory between two {@link settledHeap}
 * readings against {@link heapGrowthBound} for `calls` calls; throws a message with the growth
 * per call when either is over. Returns the report line.
 */
export function checkHeapGrowth(label: string, before: HeapFigures, after: HeapFigures, calls: number): string {
  const bound = heapGrowthBound(calls);
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(2)} MB`;
  const heap = after.heapUsed - before.heapUsed;
  const buffers = after.arrayBuffers - before.arrayBuffers;
  const line = `[leak] ${label}: ${calls} calls, heapUsed ${mb(heap)} (${(heap / calls).toFixed(1)} B/call), arrayBuffers ${mb(buffers)} (${(buffers / calls).toFixed(1)} B/call); bound ${mb(bound)} = ${mb(HEAP_GROWTH_SLACK)} + ${HEAP_GROWTH_PER_CALL} B/call`;
  console.info(line);
  if (heap > bound || buffers > bound) throw new Error(`${line}: over the bound`);
  return line;
}

/**
 * Counts objects that are still alive, with a FinalizationRegistry: `track` every object a call
 * returns; after the calls, {@link LiveObjects.live} collects garbage and returns how many of them
 * were never finalized. A backend that keeps its outputs (a cache, a list of results) shows them
 * here exactly, where a heap figure only shows bytes.
 */
export interface LiveObjects {
  /** Watches `value`: it counts as live until the collector finalizes it. */
  track(value: object): void;
  /** Objects tracked so far. */
  readonly tracked: number;
  /** Collects garbage (several rounds, letting finalizers run) and returns how many tracked objects are still alive. */
  live(): Promise<number>;
}

/** A {@link LiveObjects} counter (Node; any runtime with FinalizationRegistry and a way to force a collection). */
export function liveObjects(): LiveObjects {
  let tracked = 0;
  let finalized = 0;
  const registry = new FinalizationRegistry<void>(() => {
    finalized++;
  });
  return {
    track(value) {
      tracked++;
      registry.register(value, undefined);
    },
    get tracked() {
      return tracked;
    },
    async live() {
      // Finalizers run in tasks after a collection: alternate collections and turns of the event loop until the count settles.
      let last = -1;
      for (let round = 0; round < 20; round++) {
        collectGarbage();
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (tracked - finalized === last && round >= 3) break;
        last = tracked - finalized;
      }
      return tracked - finalized;
    },
  };
}
