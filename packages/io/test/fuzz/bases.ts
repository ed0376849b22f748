import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveConfig } from '@embedding-layer/core';
import { type SaveEmbeddingOptions, saveEmbedding } from '../../src/index.js';
import { REAL_DIR } from '../real-fixtures.js';
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

/** A real third-party file as a fuzz base. */
export async function realBase(file: string, weight: number, json = false): Promise<FuzzBase> {
  return { label: `real ${file}`, bytes: new Uint8Array(await readFile(join(REAL_DIR, file))), weight, json };
}
