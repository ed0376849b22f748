import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readKeras3Bytes } from '../../src/formats/keras-v3.js';
import { h5WorkerLimits } from '../../src/util/h5-worker.js';
import { ownExports, REAL_BASES_NOTE, realBases } from './bases.js';
import { cleanup, FUZZ_CASES, FUZZ_SEED, fuzz, scratchDir } from './harness.js';
import { report } from './report.js';

const dir = scratchDir('keras');
afterAll(async () => {
  h5WorkerLimits.cpuMs = 20_000;
  h5WorkerLimits.workers = 1;
  await cleanup(dir);
});

it(`fuzzes the Keras 3 .keras reader with ${FUZZ_CASES} mutated files (seed ${FUZZ_SEED})${REAL_BASES_NOTE}`, async () => {
  h5WorkerLimits.cpuMs = 1000;
  h5WorkerLimits.workers = 2;
  const bases = [
    ...(await realBases([['aura-keras3-sentiment/sentiment_model.keras', 0.4]])),
    ...(await ownExports(dir, '.keras', [{}, {}, { kerasQuantize: 'int8' }, { kerasQuantize: 'int8' }], 2.4)),
  ];
  const stats = await fuzz({
    format: 'keras',
    seed: FUZZ_SEED,
    count: FUZZ_CASES,
    bases,
    inflight: join(dir, 'inflight.txt'),
    concurrency: 2,
    read: (bytes) => readKeras3Bytes(bytes, join(dir, 'case.keras')),
  });
  report(stats);
  expect(stats.failures, stats.failures.join('\n\n')).toEqual([]);
  expect(stats.files).toBe(FUZZ_CASES);
}, 600_000);
