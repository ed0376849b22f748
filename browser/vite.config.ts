import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Builds the pages (index.html: conformance; bench.html: lookups per second) into browser/dist;
// everything (TF.js, onnxruntime-web and its .wasm) is bundled from node_modules and served by
// `vite preview` on 127.0.0.1: no CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 10_000,
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        bench: fileURLToPath(new URL('bench.html', import.meta.url)),
      },
    },
  },
  preview: { host: '127.0.0.1' },
});
