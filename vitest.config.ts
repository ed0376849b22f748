import { defineConfig } from 'vitest/config';

// One root config runs every workspace's tests. TF.js breaks under the `vmThreads` pool,
// so the default (`forks`) pool is kept.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'conformance/**/*.test.ts', 'browser/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
