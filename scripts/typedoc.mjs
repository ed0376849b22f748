#!/usr/bin/env node
// API docs: typedoc over each published package's public barrel (one run per entry point, so
// that every export is validated), warnings as errors: an undocumented export fails the run.
import { execFileSync } from 'node:child_process';

const entries = {
  core: 'packages/core/src/index.ts',
  'core-backend': 'packages/core/src/backend.ts',
  'adapter-js': 'packages/adapter-js/src/index.ts',
  'adapter-tfjs': 'packages/adapter-tfjs/src/index.ts',
  'adapter-onnx': 'packages/adapter-onnx/src/index.ts',
  'adapter-onnx-web': 'packages/adapter-onnx/src/web.ts',
  'onnx-model': 'packages/onnx-model/src/index.ts',
  'adapter-redis': 'packages/adapter-redis/src/index.ts',
  'adapter-webgpu': 'packages/adapter-webgpu/src/index.ts',
  io: 'packages/io/src/index.ts',
  'io-formats': 'packages/io/src/formats.ts',
  cli: 'packages/cli/src/index.ts',
  conformance: 'conformance/src/index.ts',
  'conformance-vitest': 'conformance/src/vitest.ts',
};
const root = new URL('..', import.meta.url).pathname;
let failed = 0;
for (const [name, entry] of Object.entries(entries)) {
  const args = [
    'typedoc',
    '--entryPoints',
    entry,
    '--tsconfig',
    `${entry.split('/src/')[0]}/tsconfig.json`,
    '--out',
    `docs/api/${name}`,
    '--name',
    `@embedding-layer/${name}`,
    '--readme',
    'none',
    '--disableSources',
    '--excludePrivate',
    '--excludeInternal',
    '--treatWarningsAsErrors',
    '--validation.notExported',
    '--validation.invalidLink',
    '--validation.notDocumented',
    // Every exported declaration and public method needs a doc comment; fields of documented
    // interfaces may rely on their interface's comment.
    ...['Class', 'Function', 'Interface', 'TypeAlias', 'Variable', 'Enum', 'Method', 'Accessor'].flatMap((kind) => [
      '--requiredToBeDocumented',
      kind,
    ]),
  ];
  try {
    execFileSync('npx', args, { cwd: root, stdio: 'pipe', encoding: 'utf8' });
    console.log(`ok    ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL  ${name}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
}
console.log(`${Object.keys(entries).length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
