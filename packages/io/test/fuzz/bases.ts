import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveConfig } from '@embedding-layer/core';
import { type SaveEmbeddingOptions, saveEmbedding } from '../../src/index.js';
import { hasShared, missingShared, REAL_DIR, REQUIRE_SHARED } from '../real-fixtures.js';
import type { FuzzBase } from './harness.js';

/** A small layer whose values are exactly representable, for our own exports. */
export function smallLayer(inputDim = 6, outputDim = 4, extra: Record<string, unknown> = {}) {
  const config = resolveConfig({ inputDim, outputDim, name: 'emb', ...extra });
  const weights = Float32Array.from({ length: inputDim * outputDim }, (_, i) => (i % 7) * 0.25 - 0.75);
  return { config, weights };
}

/** Our own exports of a format, written with saveEmbedding into `dir`, as fuzz bases. */
export async function ownExports(dir: string, ext: string, variants: readonly SaveEmbeddingOptions[], weight: number): Promise<FuzzBase[]> {
  const out: FuzzBase[] = [];
  for (const [i, options] of variants.entries()) {
    const file = join(dir, `own-${i}${ext}`);
    await saveEmbedding(file, smallLayer(6, 4, i % 2 === 1 ? { maskZero: true } : {}), options);
    out.push({
      label: `own export ${ext} ${JSON.stringify(options)}`,
      bytes: new Uint8Array(await readFile(file)),
      weight,
      json: ext === '.json',
    });
  }
  return out;
}

/**
 * Real third-party files (shared/fixtures/real/) as fuzz bases: none when that folder is missing
 * (the fuzzer then mutates our own exports only, and {@link REAL_BASES_NOTE} says so in the test
 * title), an error when `EMBEDDING_LAYER_REQUIRE_SHARED=1`.
 */
export async function realBases(files: readonly (readonly [file: string, weight: number, json?: boolean])[]): Promise<FuzzBase[]> {
  if (!hasShared('real')) {
    if (REQUIRE_SHARED) throw new Error(`${missingShared('real')}. EMBEDDING_LAYER_REQUIRE_SHARED=1 makes this a failure.`);
    return [];
  }
  const out: FuzzBase[] = [];
  for (const [file, weight, json = false] of files)
    out.push({ label: `real ${file}`, bytes: new Uint8Array(await readFile(join(REAL_DIR, file))), weight, json });
  return out;
}

/** A suffix for fuzz test titles: empty when the real files are there. */
export const REAL_BASES_NOTE = hasShared('real') ? '' : ' (our own exports only: ../shared/fixtures/real/ is missing)';
