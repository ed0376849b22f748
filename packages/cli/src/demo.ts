import { fnv1a, randomIndices } from '@embedding-layer/conformance';
import { Embedding } from '@embedding-layer/core';
import { type LoadedBackend, loadBackends } from './backends.js';

/** One backend's run of the seed example. */
export interface DemoRow {
  backend: string;
  shape?: number[];
  checksum?: string;
  ms?: number;
  agrees?: boolean;
  note?: string;
}

/** The seed example's settings: Embedding(1000, 64, input_length=10); input np.random.randint(1000, size=(32, 10)). */
export const SEED_EXAMPLE = { inputDim: 1000, outputDim: 64, inputLength: 10, batch: 32, weightSeed: 42, inputSeed: 7 } as const;

/**
 * Runs the seed example on every installed backend with one weight seed and one input, and
 * reports per backend the output shape, an FNV-1a checksum of the output bytes, the time of
 * create + predict, and whether its output equals the first backend's bit for bit.
 */
export async function runDemo(backends?: LoadedBackend[]): Promise<DemoRow[]> {
  const loaded = backends ?? (await loadBackends());
  const { inputDim, outputDim, inputLength, batch, weightSeed, inputSeed } = SEED_EXAMPLE;
  const input = { data: randomIndices(inputSeed, batch * inputLength, inputDim), shape: [batch, inputLength] };
  const rows: DemoRow[] = [];
  let first: Float32Array | undefined;
  for (const b of loaded) {
    if ('missing' in b) {
      rows.push({ backend: b.name, note: b.missing });
      continue;
    }
    const start = performance.now();
    const layer = await Embedding.create({ inputDim, outputDim, inputLength, seed: weightSeed }, { backend: await b.create() });
    const out = await layer.predict(input);
    const ms = performance.now() - start;
    await layer.dispose();
    first ??= out.data;
    const agrees = out.data.length === first.length && out.data.every((v, i) => Object.is(v, first![i]));
    rows.push({ backend: b.name, shape: out.shape, checksum: fnv1a(out.data), ms, agrees });
  }
  return rows;
}

/** The demo as a printable table. */
export function formatDemo(rows: readonly DemoRow[]): string {
  const lines = [
    'The seed example: Embedding(1000, 64, input_length=10), predict on a 32x10 input (weights seed 42, input seed 7)',
    '',
    `${'backend'.padEnd(10)} ${'shape'.padEnd(14)} ${'checksum'.padEnd(9)} ${'time'.padStart(9)}  agrees`,
  ];
  for (const r of rows) {
    if (!r.shape) {
      lines.push(`${r.backend.padEnd(10)} skipped: ${r.note}`);
      continue;
    }
    lines.push(
      `${r.backend.padEnd(10)} ${`[${r.shape.join(', ')}]`.padEnd(14)} ${r.checksum!.padEnd(9)} ${`${r.ms!.toFixed(1)} ms`.padStart(9)}  ${r.agrees ? 'yes' : 'NO'}`,
    );
  }
  const ran = rows.filter((r) => r.shape);
  lines.push('', ran.every((r) => r.agrees) ? `All ${ran.length} backend(s) agree bit for bit.` : 'Backends DISAGREE.');
  return lines.join('\n');
}
