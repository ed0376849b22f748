import { defineConfig } from 'vitest/config';
import SkipsReporter from './scripts/vitest-skips-reporter.js';

// One root config runs every workspace's tests. TF.js breaks under the `vmThreads` pool,
// so the default (`forks`) pool is kept.
//
// A green run prints little: the dot reporter, no console output from passing tests
// (`silent: 'passed-only'`: a failing test still shows what it printed), and the list of
// skipped tests with their reasons. `npx vitest run --reporter=default` shows every file.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'conformance/**/*.test.ts', 'browser/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    silent: 'passed-only',
    reporters: ['dot', new SkipsReporter()],
  },
});
