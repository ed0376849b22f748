import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Builds the test and benchmark page (test/page) into test/page/dist, served by `vite preview`
// on 127.0.0.1 (WebGPU needs a secure context: http://127.0.0.1 is one, about:blank is not).
export default defineConfig({
  root: fileURLToPath(new URL('./page', import.meta.url)),
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 10_000,
  },
  preview: { host: '127.0.0.1' },
});
