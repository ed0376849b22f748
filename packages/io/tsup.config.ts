import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/formats.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // h5wasm ships its WebAssembly next to its JS (ESM-only, loaded at run time): never bundle it.
  external: [
    'h5wasm',
    'h5wasm/node',
    'fflate',
    'onnx-proto',
    '@embedding-layer/core',
    '@embedding-layer/core/backend',
    '@embedding-layer/adapter-onnx',
  ],
});
