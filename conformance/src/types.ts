import type { EmbeddingBackendV1 } from '@embedding-layer/core';

/** A number in fixture JSON: plain, or `{ "$number": "NaN" | "Infinity" | "-Infinity" | "-0" }` for what JSON cannot hold. */
export type FixtureNumber = number | { $number: string };

/** An index input as fixtures write it. */
export type FixtureInput =
  | unknown[]
  | number
  | { dtype: 'int32' | 'uint32' | 'float32' | 'float64' | 'bigint64'; data: (FixtureNumber | string)[]; shape: number[] }
  | { random: { seed: number; shape: number[] } };

/** One case of a fixture file. Which fields are present depends on the file's group. */
export interface FixtureCase {
  id: string;
  title: string;
  source: string;
  config?: Record<string, unknown>;
  kerasConfig?: unknown;
  weights?: FixtureNumber[][];
  initialWeights?: unknown[];
  setWeights?: unknown[];
  input?: FixtureInput;
  inputShape?: (number | null)[];
  outputGradient?: number[];
  learningRate?: number;
  otherSeed?: number;
  compile?: { optimizer: unknown; loss: unknown };
  batches?: { input: unknown[]; target: number[] }[];
  expect: Record<string, unknown>;
}

/** A fixture file: one group of cases. */
export interface FixtureFile {
  group: string;
  description: string;
  cases: FixtureCase[];
}

/** Makes a fresh backend; called once per case. */
export type BackendFactory = () => EmbeddingBackendV1 | Promise<EmbeddingBackendV1>;

/** A runnable conformance case, independent of any test runner. */
export interface ConformanceCase {
  /** `<group>/<fixture id>`. */
  readonly id: string;
  readonly group: string;
  readonly title: string;
  /** The capability this case needs (a key of the backend's `supports`); absent when every backend must pass it. */
  readonly requires?: 'training';
  /** Runs the case; throws a `ConformanceFailure` (or the unexpected error) when the backend disagrees. */
  run(context: CaseContext): Promise<void>;
}

/** What a case gets to run. */
export interface CaseContext {
  createBackend: BackendFactory;
  /** Largest accepted |actual - expected| for float outputs. 0 (the default) means bitwise equal. */
  tolerance: number;
  /**
   * Largest accepted |actual - expected| (plus the same, relative) for trained weights and
   * losses, whose expected values are float64 while backends train in float32. Default 1e-5.
   */
  trainingTolerance?: number;
}
