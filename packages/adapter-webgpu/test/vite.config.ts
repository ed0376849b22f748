import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const VIRTUAL = '\0readme-example';

/**
 * `virtual:readme-example`: the README's first ```js block as a module exporting
 * `run(console)`, its imports kept at the top, so that the test runs the example exactly as
 * written (with a console that records what it logs).
 */
function readmeExample(): Plugin {
  return {
    name: 'readme-example',
    resolveId: (id) => (id === 'virtual:readme-example' ? VIRTUAL : null),
    load(id) {
      if (id !== VIRTUAL) return null;
      const block = /```js\n([\s\S]*?)```/.exec(readFileSync(README, 'utf8'))?.[1];
      if (!block) throw new Error(`${README} has no \`\`\`js example`);
      const lines = block.split('\n');
      const imports = lines.filter((l) => l.startsWith('import '));
      const body = lines.filter((l) => !l.startsWith('import '));
      return `${imports.join('\n')}\nexport const source = ${JSON.stringify(block)};\nexport async function run(console) {\n${body.join('\n')}\n}\n`;
    },
  };
}

// Builds the test and benchmark page (test/page) into test/page/dist, served by `vite preview`
// on 127.0.0.1 (WebGPU needs a secure context: http://127.0.0.1 is one, about:blank is not).
// The package is bundled from its source (src/), the README example included.
export default defineConfig({
  root: fileURLToPath(new URL('./page', import.meta.url)),
  logLevel: 'warn',
  plugins: [readmeExample()],
  resolve: {
    alias: { '@embedding-layer/adapter-webgpu': fileURLToPath(new URL('../src/index.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 10_000,
  },
  preview: { host: '127.0.0.1' },
});
