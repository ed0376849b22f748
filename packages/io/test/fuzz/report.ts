import type { FuzzStats } from './harness.js';

/** Prints one line per format: files, successful loads, BadFileErrors, failures. */
export function report(stats: FuzzStats): void {
  console.log(
    `[io fuzz] ${stats.format}: seed ${stats.seed}, ${stats.files} mutated files, ${stats.loads} loaded, ${stats.badFile} BadFileError (${stats.guardedHangs} of them HDF5 loops stopped by the time limit), ${stats.failures.length} failures, ${(stats.ms / 1000).toFixed(1)} s`,
  );
}
