#!/usr/bin/env node
// Writes the README's "which adapter for which runtime" table from each backend's own
// `supports` manifest (so the table cannot drift from the code). `--check` fails when the
// README is out of date instead of writing it. Run after `npx turbo run build`.
import { readFileSync, writeFileSync } from 'node:fs';
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
    'TensorFlow.js models (Node, browsers: cpu, wasm, webgl)',
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
  const s = backend.supports;
  const install = `\`npm install @embedding-layer/core ${pkg.split('/').slice(0, 2).join('/')}\``;
  lines.push(
    `| ${runsOn} | ${install} | ${call} | ${peer} | ${yes(s.training)} | ${yes(s.lookupInto)} | ${gib(s.maxTableBytes)} | ${(s.export ?? []).join(', ') || '—'} | \`${backend.name}\` |`,
  );
}
const table = lines.join('\n');

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = "<!-- backends:start (scripts/readme-tables.mjs writes this table from each backend's supports manifest) -->";
const end = '<!-- backends:end -->';
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from < 0 || to < 0) throw new Error(`README.md lacks the markers ${start} ... ${end}`);
const next = `${readme.slice(0, from + start.length)}\n${table}\n${readme.slice(to)}`;
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.log('README.md backend table is out of date: run node scripts/readme-tables.mjs');
    process.exit(1);
  }
  console.log('README.md backend table is up to date');
} else {
  writeFileSync(path, next);
  console.log(table);
}
