import type { BackendCapabilitiesV2 } from '@embedding-layer/core';
import { Embedding } from '@embedding-layer/core';
import { CONFORMANCE_CASES } from './cases.js';
import type { BackendFactory, CaseContext, ConformanceCase } from './types.js';

/** The outcome of one case on one backend. */
export interface CaseResult {
  id: string;
  group: string;
  title: string;
  /** `skip`: the case does not apply to the backend's declared capabilities (the message says why). */
  status: 'pass' | 'fail' | 'skip';
  /** For a failure: what was expected and what came; for a skip: why. */
  message?: string;
  /** Wall time of the case in milliseconds. */
  ms: number;
}

/** Options of {@link runConformance}. */
export interface RunConformanceOptions {
  /** Makes a fresh backend; called once (or more) per case. */
  createBackend: BackendFactory;
  /** Extra absolute slack on top of the backend's declared storage bound; 0 (default): float32 bit for bit. */
  tolerance?: number;
  /** Relative tolerance of trained weights and losses against the float64 reference. Default 1e-5. */
  trainingTolerance?: number;
  /** Only these groups (default: all). */
  groups?: readonly string[];
  /** Called after each case, e.g. to print progress. */
  onResult?: (result: CaseResult) => void;
}

/** The capability manifest of the backends a factory makes, as core reads it (a v1 manifest in v2 terms). */
export async function capabilitiesOf(createBackend: BackendFactory): Promise<BackendCapabilitiesV2> {
  const layer = await Embedding.create({ inputDim: 1, outputDim: 1, seed: 0 }, { backend: await createBackend() });
  try {
    return layer.supports;
  } finally {
    await layer.dispose();
  }
}

/** Runs one case: a skip (with its reason) when the declared capabilities exclude it. */
export async function runCase(c: ConformanceCase, context: CaseContext, supports: BackendCapabilitiesV2): Promise<CaseResult> {
  const start = performance.now();
  const reason = c.skip?.(supports) ?? null;
  if (reason !== null) return { id: c.id, group: c.group, title: c.title, status: 'skip', message: reason, ms: 0 };
  try {
    await c.run(context);
    return { id: c.id, group: c.group, title: c.title, status: 'pass', ms: performance.now() - start };
  } catch (error) {
    return {
      id: c.id,
      group: c.group,
      title: c.title,
      status: 'fail',
      message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      ms: performance.now() - start,
    };
  }
}

/**
 * Runs the conformance cases against a backend without any test runner (the CLI's
 * `conformance` command and browsers use this). Never throws for a failing case: each
 * failure is a result with its message. Cases the backend's capabilities exclude (e.g. bit
 * patterns on lossy storage) are results with status `skip` and the reason.
 */
export async function runConformance(options: RunConformanceOptions): Promise<CaseResult[]> {
  const cases: readonly ConformanceCase[] = options.groups
    ? CONFORMANCE_CASES.filter((c) => options.groups!.includes(c.group))
    : CONFORMANCE_CASES;
  const supports = await capabilitiesOf(options.createBackend);
  const context: CaseContext = {
    createBackend: options.createBackend,
    tolerance: options.tolerance ?? 0,
    trainingTolerance: options.trainingTolerance ?? 1e-5,
  };
  const results: CaseResult[] = [];
  for (const c of cases) {
    const result = await runCase(c, context, supports);
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
