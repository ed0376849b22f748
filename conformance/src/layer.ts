import { Embedding, type EmbeddingBackend, type EmbeddingConfig, EmbeddingError, type WeightInput } from '@embedding-layer/core';
import { decodeNumbers } from './decode.js';
import { ConformanceFailure, check } from './failure.js';
import type { CaseContext, FixtureCase } from './types.js';

/** Creates a fresh backend and a layer for a case, runs `body`, and disposes the layer. */
export async function withLayer<T>(
  context: CaseContext,
  fixture: FixtureCase,
  body: (layer: Embedding, backend: EmbeddingBackend) => Promise<T>,
  overrides: Partial<EmbeddingConfig> = {},
): Promise<T> {
  const backend = await context.createBackend();
  const config = { ...(decodeNumbers(fixture.config) as EmbeddingConfig), ...overrides };
  const weights = fixture.weights ? [decodeNumbers(fixture.weights) as WeightInput] : undefined;
  const layer = await Embedding.create(config, { backend, ...(weights ? { weights } : {}) });
  try {
    return await body(layer, backend);
  } finally {
    await layer.dispose();
  }
}

/** Awaits a layer (of any kind), runs `body` with it, and disposes it whatever `body` does. */
export async function usingLayer<L extends { dispose(): unknown }>(created: Promise<L>, body: (layer: L) => Promise<void>): Promise<void> {
  const layer = await created;
  try {
    await body(layer);
  } finally {
    await layer.dispose();
  }
}

/** Runs `action` and checks that it throws (or rejects with) an EmbeddingError with `code`. Returns the error. */
export async function expectError(action: () => unknown, code: string): Promise<EmbeddingError> {
  let outcome: unknown;
  try {
    await action();
  } catch (error) {
    outcome = error;
  }
  check(outcome !== undefined, `expected an error with code ${code}, but the call succeeded.`);
  if (!EmbeddingError.isInstance(outcome)) {
    throw new ConformanceFailure(
      `expected an EmbeddingError with code ${code}, received ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}.`,
    );
  }
  check(outcome.code === code, () => `expected error code ${code}, received ${outcome.code}: ${outcome.message}`);
  return outcome;
}

/** JSON with sorted keys, to compare configs structurally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
