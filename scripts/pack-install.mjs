#!/usr/bin/env node
// Install as a user would: pack every publishable workspace with `npm pack`, then, in fresh
// folders outside the repository, install core plus exactly one adapter from the tarballs
// (runtime peers from the registry), type-check the adapter README's first TypeScript example
// with `tsc` (NodeNext, strict) and run it, and `require()` the packages from CommonJS
// (Node >= 20.19 loads our ESM-only packages through require(esm)). `tsc` runs with
// skipLibCheck: the example's own imports must resolve and type-check; TF.js's bundled .d.ts
// files do not pass TypeScript 5.9's strict library checks on their own. Fails if a file is
// missing from a tarball, a dependency is undeclared, or the types do not resolve.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReadmeExample } from './readme-example.mjs';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'embedding-layer-pack-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_onnxruntime_node_install: 'skip' },
  });

const workspaces = JSON.parse(run('npm', ['query', '.workspace', '--json'], root)).filter((p) => !p.private);
const tgz = {};
for (const p of workspaces) {
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tarballs], join(root, p.location)));
  tgz[p.name] = join(tarballs, info.filename);
}
const devTools = ['typescript@5.9.3', '@types/node@20.19.43'];

/** name, tarballs to install, registry peers, the README whose first ts block is the example, CommonJS probe. */
const scenarios = [
  {
    name: 'adapter-js',
    packages: ['@embedding-layer/core', '@embedding-layer/adapter-js'],
    peers: [],
    readme: '@embedding-layer/adapter-js',
    cjs: `const { Embedding } = require('@embedding-layer/core');
const { createJsBackend } = require('@embedding-layer/adapter-js');
Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10 }, { backend: createJsBackend() })
  .then((layer) => layer.predict({ data: new Int32Array(320), shape: [32, 10] }))
  .then((out) => { if (out.shape.join() !== '32,10,64') throw new Error('shape ' + out.shape); console.log('cjs ok', out.shape); });`,
  },
  {
    name: 'adapter-tfjs',
    packages: ['@embedding-layer/core', '@embedding-layer/adapter-tfjs'],
    peers: ['@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0'],
    readme: '@embedding-layer/adapter-tfjs',
  },
  {
    name: 'adapter-onnx',
    packages: ['@embedding-layer/core', '@embedding-layer/adapter-onnx'],
    peers: ['onnxruntime-node@1.30.0'],
    readme: '@embedding-layer/adapter-onnx',
  },
  {
    name: 'cli',
    // The CLI brings its own dependencies (io, conformance, adapter-js); install every tarball so none comes from the registry.
    packages: 'all',
    peers: [],
    command: ['npx', ['embedding-layer', 'demo']],
  },
];

let passed = 0;
let failed = 0;
for (const s of scenarios) {
  if (s.packages === 'all') s.packages = Object.keys(tgz);
  const missing = s.packages.filter((p) => !tgz[p]);
  const dir = join(work, s.name);
  mkdirSync(dir);
  try {
    if (missing.length) throw new Error(`not packed: ${missing.join(', ')}`);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `try-${s.name}`, private: true, type: 'module' }));
    writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\nfund=false\naudit=false\n');
    run('npm', ['install', '--no-audit', '--no-fund', ...s.packages.map((p) => tgz[p]), ...s.peers, ...devTools], dir);
    if (s.readme) {
      writeReadmeExample(dir, s.readme);
      run('npx', ['tsc', '-p', 'tsconfig.json'], dir);
      console.log(
        run('node', ['out/example.js'], dir)
          .trim()
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    }
    if (s.cjs) {
      writeFileSync(join(dir, 'probe.cjs'), s.cjs);
      console.log(`  ${run('node', ['probe.cjs'], dir).trim()}`);
    }
    if (s.command)
      console.log(
        run(s.command[0], s.command[1], dir)
          .trim()
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    console.log(`ok    ${s.name}`);
    passed++;
  } catch (error) {
    console.log(`FAIL  ${s.name}: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    failed++;
  }
}
rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
