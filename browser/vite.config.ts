import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Builds the page into browser/dist; everything (TF.js, onnxruntime-web and its .wasm) is
// bundled from node_modules and served by `vite preview` on 127.0.0.1: no CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 10_000,
  },
  preview: { host: '127.0.0.1' },
});
