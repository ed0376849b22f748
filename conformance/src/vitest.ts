import { describe, it } from 'vitest';
import { CONFORMANCE_CASES, CONFORMANCE_GROUPS } from './cases.js';
import type { BackendFactory } from './types.js';

export type { BackendFactory } from './types.js';

/** Options of {@link describeEmbeddingConformance}. */
export interface DescribeConformanceOptions {
  /** Shown in the test titles, e.g. `'adapter-js'`. */
  name: string;
  /** Makes a fresh backend; each test gets its own. */
  createBackend: BackendFactory;
  /** Largest accepted |actual - expected| for float outputs; 0 (default) = bitwise. */
  tolerance?: number;
  /** Relative tolerance of trained weights and losses against the float64 reference. Default 1e-5. */
  trainingTolerance?: number;
  /** Only these groups (default: all). Prefer the default: a backend's gaps belong in its `supports`. */
  groups?: readonly string[];
}

/**
 * Registers the conformance suite with vitest: one `describe` per group, one `it` per case,
 * titled by the case id. Call it at the top level of a test file:
 *
 * ```ts
 * describeEmbeddingConformance({ name: 'my-backend', createBackend: () => createMyBackend() });
 * ```
 *
 * Capabilities come from the backend's `supports`, never from options: a case that needs a
 * missing capability checks that the call is rejected with `UNSUPPORTED_FEATURE`.
 */
export function describeEmbeddingConformance(options: DescribeConformanceOptions): void {
  const groups = options.groups ?? CONFORMANCE_GROUPS;
  describe(`${options.name} conformance`, () => {
    for (const group of groups) {
      describe(group, () => {
        for (const c of CONFORMANCE_CASES.filter((x) => x.group === group)) {
          it(`${c.id}: ${c.title}`, () =>
            c.run({
              createBackend: options.createBackend,
              tolerance: options.tolerance ?? 0,
              trainingTolerance: options.trainingTolerance ?? 1e-5,
            }));
        }
      });
    }
  });
}

export { collectGarbage, HEAP_GROWTH_BOUND, type HeapFigures, reportHeapGrowth, settledHeap } from './heap.js';
export { type DescribePropertiesOptions, describeEmbeddingProperties } from './properties.js';
