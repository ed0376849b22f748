#!/usr/bin/env node
// Writes two parts of the README from the code, so they cannot drift from it: the "which
// adapter for which runtime" table, from each backend's own `supports` manifest, and the
// conformance matrix, from a real run of `embedding-layer conformance` on every backend (the
// run's timings are left out, so the same code gives the same text). `--check` fails when the
// README is out of date instead of writing it, and when any conformance case fails. Run after
// `npx turbo run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createOnnxBackend } from '@embedding-layer/adapter-onnx';
import { createOnnxWebBackend } from '@embedding-layer/adapter-onnx/web';
import { createRedisBackend } from '@embedding-layer/adapter-redis';
import { createTfjsBackend } from '@embedding-layer/adapter-tfjs';

const rows = [
  [
    'anything (Node, browsers, workers); no dependencies',
    '@embedding-layer/adapter-js',
    '`createJsBackend()`',
    '—',
    () => createJsBackend(),
  ],
  [
    'TensorFlow.js models (Node, browsers: cpu, wasm, webgl, webgpu)',
    '@embedding-layer/adapter-tfjs',
    "`await createTfjsBackend({ backend: 'cpu' })`",
    '`@tensorflow/tfjs` 4.22 (+ `@tensorflow/tfjs-backend-wasm` for wasm)',
    () => createTfjsBackend({ backend: 'cpu', quiet: true }),
  ],
  ['ONNX Runtime in Node', '@embedding-layer/adapter-onnx', '`createOnnxBackend()`', '`onnxruntime-node` 1.x', () => createOnnxBackend()],
  [
    'ONNX Runtime in browsers',
    '@embedding-layer/adapter-onnx/web',
    '`createOnnxWebBackend()`',
    '`onnxruntime-web` 1.x',
    () => createOnnxWebBackend({ runtime: {} }),
  ],
  [
    'a Redis Cluster or Redis/Valkey node (Node): tables bigger than one machine, shared by processes',
    '@embedding-layer/adapter-redis',
    '`createRedisBackend({ nodes })`',
    '— (a Redis server)',
    () => createRedisBackend({ nodes: '127.0.0.1:6379' }),
  ],
];

const yes = (v) => (v ? 'yes' : '—');
const gib = (bytes) =>
  bytes === undefined || !Number.isFinite(bytes) ? 'no limit' : `${(bytes / 2 ** 30).toFixed(bytes % 2 ** 30 ? 1 : 0)} GiB`;
const lines = [
  '| you run on | install | backend | runtime peer | training | lookup into your buffer | largest table | export | name in reports |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const [runsOn, pkg, call, peer, make] of rows) {
  const backend = await make();
  if (backend === null) continue;
  const s = backend.supports;
  const install = `\`npm install @embedding-layer/core ${pkg.split('/').slice(0, 2).join('/')}\``;
  lines.push(
    `| ${runsOn} | ${install} | ${call} | ${peer} | ${yes(s.training)} | ${yes(s.lookupInto)} | ${gib(s.maxTableBytes)} | ${(s.export ?? []).join(', ') || '—'} | \`${backend.name}\` |`,
  );
}
// adapter-webgpu needs a GPU device (a browser's navigator.gpu), so no backend can be made here:
// its row is written from the manifest its source declares (checked by its browser test).
lines.push(
  "| browsers with WebGPU; no ML runtime (the table in GPU buffers, split by binding size) | `npm install @embedding-layer/core @embedding-layer/adapter-webgpu` | `await createWebGpuBackend()` | — (a WebGPU device) | yes | yes | the device's memory | — | `webgpu` |",
);
const table = lines.join('\n');

// The conformance matrix: the CLI's --markdown output of a real run, without the run's timings.
const tmp = mkdtempSync(join(tmpdir(), 'embedding-layer-matrix-'));
let matrix;
try {
  const file = join(tmp, 'matrix.md');
  try {
    execFileSync(
      process.execPath,
      [
        new URL('../packages/cli/dist/bin.js', import.meta.url).pathname,
        'conformance',
        '--backend',
        'js,tfjs-cpu,tfjs-wasm,onnx',
        '--markdown',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
    );
  } catch (error) {
    console.log(`embedding-layer conformance failed (exit ${error.status}):\n${error.stderr ?? ''}${readFileSync(file, 'utf8')}`);
    process.exit(1);
  }
  matrix = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => (line.startsWith('- ') ? line.replace(/, [0-9.]+ m?s$/, '') : line))
    .join('\n');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
/** The README with the text between two marker comments replaced. */
function replaceBetween(text, start, end, body) {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md lacks the markers ${start} ... ${end}`);
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`;
}
let next = replaceBetween(
  readme,
  "<!-- backends:start (scripts/readme-tables.mjs writes this table from each backend's supports manifest) -->",
  '<!-- backends:end -->',
  table,
);
next = replaceBetween(
  next,
  '<!-- conformance:start (scripts/readme-tables.mjs writes this from a real run of embedding-layer conformance) -->',
  '<!-- conformance:end -->',
  matrix,
);
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.log('README.md is out of date (backend table or conformance matrix): run node scripts/readme-tables.mjs');
    process.exit(1);
  }
  console.log('README.md backend table and conformance matrix are up to date');
} else {
  writeFileSync(path, next);
  console.log('README.md: backend table and conformance matrix written');
}
