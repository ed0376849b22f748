import { CONFORMANCE_CASES } from './cases.js';
import type { BackendFactory, ConformanceCase } from './types.js';

/** The outcome of one case on one backend. */
export interface CaseResult {
  id: string;
  group: string;
  title: string;
  status: 'pass' | 'fail';
  /** For a failure: what was expected and what came. */
  message?: string;
  /** Wall time of the case in milliseconds. */
  ms: number;
}

/** Options of {@link runConformance}. */
export interface RunConformanceOptions {
  /** Makes a fresh backend; called once (or more) per case. */
  createBackend: BackendFactory;
  /** Largest accepted |actual - expected| for float outputs; 0 (default) = bitwise. */
  tolerance?: number;
  /** Relative tolerance of trained weights and losses against the float64 reference. Default 1e-5. */
  trainingTolerance?: number;
  /** Only these groups (default: all). */
  groups?: readonly string[];
  /** Called after each case, e.g. to print progress. */
  onResult?: (result: CaseResult) => void;
}

/**
 * Runs the conformance cases against a backend without any test runner (the CLI's
 * `conformance` command and browsers use this). Never throws for a failing case: each
 * failure is a result with its message.
 */
export async function runConformance(options: RunConformanceOptions): Promise<CaseResult[]> {
  const cases: readonly ConformanceCase[] = options.groups
    ? CONFORMANCE_CASES.filter((c) => options.groups!.includes(c.group))
    : CONFORMANCE_CASES;
  const results: CaseResult[] = [];
  for (const c of cases) {
    const start = performance.now();
    let result: CaseResult;
    try {
      await c.run({
        createBackend: options.createBackend,
        tolerance: options.tolerance ?? 0,
        trainingTolerance: options.trainingTolerance ?? 1e-5,
      });
      result = { id: c.id, group: c.group, title: c.title, status: 'pass', ms: performance.now() - start };
    } catch (error) {
      result = {
        id: c.id,
        group: c.group,
        title: c.title,
        status: 'fail',
        message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        ms: performance.now() - start,
      };
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
