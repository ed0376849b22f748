import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * The browser entry (`@embedding-layer/adapter-onnx/web`) always passes onnxruntime-web as the
 * runtime, so the shared loader's default `import('onnxruntime-node')` is dead code there.
 * Replace it with a module that throws, so browser bundlers never see onnxruntime-node.
 */
const withoutOnnxruntimeNode: Plugin = {
  name: 'without-onnxruntime-node',
  setup(build) {
    build.onResolve({ filter: /^onnxruntime-node$/ }, () => ({ path: 'onnxruntime-node', namespace: 'without-onnxruntime-node' }));
    build.onLoad({ filter: /.*/, namespace: 'without-onnxruntime-node' }, () => ({
      contents: 'throw new Error("onnxruntime-node is not part of @embedding-layer/adapter-onnx/web: pass onnxruntime-web as `runtime`.");',
      loader: 'js',
    }));
  },
};

// Built after tsup.config.ts (see the build script), into the same dist/, without cleaning it.
export default defineConfig({
  entry: ['src/web.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: false,
  splitting: false,
  target: 'es2022',
  noExternal: ['onnxruntime-node'],
  esbuildPlugins: [withoutOnnxruntimeNode],
});
