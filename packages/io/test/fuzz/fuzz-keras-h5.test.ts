import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readKerasH5 } from '../../src/formats/keras-h5.js';
import { h5WorkerLimits } from '../../src/util/h5-worker.js';
import { ownExports, REAL_BASES_NOTE, realBases } from './bases.js';
import { cleanup, FUZZ_CASES, FUZZ_SEED, fuzz, put, scratchDir } from './harness.js';
import { report } from './report.js';

const dir = scratchDir('h5');
afterAll(async () => {
  h5WorkerLimits.cpuMs = 20_000;
  h5WorkerLimits.workers = 1;
  await cleanup(dir);
});

it(`fuzzes the Keras 2 .h5 reader with ${FUZZ_CASES} mutated files (seed ${FUZZ_SEED})${REAL_BASES_NOTE}`, async () => {
  const bases = [
    ...(await realBases([
      ['dl4j-keras2-h5/misc_0.h5', 4],
      ['dl4j-keras2-h5/embedding_conv1d_extended_tensorflow_2.h5', 0.6],
      ['textgenrnn-weights-hdf5/textgenrnn_weights.hdf5', 0.15],
    ])),
    ...(await ownExports(dir, '.h5', [{}, {}, { weightsOnly: true }], 1.5)),
  ];
  h5WorkerLimits.cpuMs = 1000;
  h5WorkerLimits.workers = 2;
  const stats = await fuzz({
    format: 'keras-h5',
    seed: FUZZ_SEED,
    count: FUZZ_CASES,
    bases,
    inflight: join(dir, 'inflight.txt'),
    concurrency: 2,
    read: async (bytes, _base, _rand, lane) => {
      const file = join(dir, `case-${lane}.h5`);
      await put(file, bytes);
      return readKerasH5(file);
    },
  });
  report(stats);
  expect(stats.failures, stats.failures.join('\n\n')).toEqual([]);
  expect(stats.files).toBe(FUZZ_CASES);
}, 600_000);
