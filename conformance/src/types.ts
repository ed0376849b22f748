import type { BackendCapabilitiesV2, EmbeddingBackend } from '@embedding-layer/core';

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

/** Makes a fresh backend (v2, or v1 which core still accepts); called once per case. */
export type BackendFactory = () => EmbeddingBackend | Promise<EmbeddingBackend>;

/** A runnable conformance case, independent of any test runner. */
export interface ConformanceCase {
  /** `<group>/<fixture id>`. */
  readonly id: string;
  readonly group: string;
  readonly title: string;
  /** The capability this case needs (a key of the backend's `supports`); absent when every backend must pass it. */
  readonly requires?: 'training' | 'export';
  /**
   * Why this case does not apply to a backend with these capabilities (e.g. bit patterns on a
   * lossy storage), or null when it does. Runners show such a case as skipped, with the reason.
   */
  skip?(supports: BackendCapabilitiesV2): string | null;
  /** Runs the case; throws a `ConformanceFailure` (or the unexpected error) when the backend disagrees. */
  run(context: CaseContext): Promise<void>;
}

/** What a case gets to run. */
export interface CaseContext {
  createBackend: BackendFactory;
  /**
   * Extra absolute slack added to the storage bound the backend declares
   * (`supports.storage.bound`). Default 0: float32 storage is compared bit for bit, float16 and
   * int8 within their documented bounds relative to each row's max |value|.
   */
  tolerance: number;
  /**
   * Largest accepted |actual - expected| (plus the same, relative) for trained weights and
   * losses, whose expected values are float64 while backends train in float32. Default 1e-5.
   */
  trainingTolerance?: number;
}
