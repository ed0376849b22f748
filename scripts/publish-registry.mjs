#!/usr/bin/env node
// A real publish, not `--dry-run`: starts a private npm registry (Verdaccio) on 127.0.0.1,
// runs `changeset version` and `changeset publish` against it on a throwaway copy of the
// repository, then, in fresh folders outside the repository, installs `@embedding-layer/core`
// with each adapter, io and the cli BY NAME AND SEMVER RANGE from that registry (runtime peers
// and everything else from the public registry, through a scoped-registry .npmrc), type-checks
// and runs each package README's first TypeScript example, loads the packages from CommonJS,
// and runs `npx embedding-layer --version` and `demo`. Stops exactly the registry process it
// started. Run after `npx turbo run build` (the dist folders are published as built).
//
// Verdaccio is not a devDependency of the repository: its 300+ packages would land in every
// `npm ci`. It is installed at run time into the throwaway folder with `npm ci` from
// scripts/registry/package-lock.json, which pins verdaccio 6.8.0 and (by an npm override)
// node-fetch 2.7.0, the combination known to install and run on Node 20.
//
// Prints one line per step; on a failure, the failing command's output and the registry log.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeReadmeExample } from './readme-example.mjs';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'embedding-layer-registry-'));
const keep = process.argv.includes('--keep');
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
/** Environment of every npm call: no update notices, and no npm_config_* inherited from a parent `npm run`. */
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
Object.assign(baseEnv, { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });

/** Runs a command and returns its stdout; a command still running after `timeout` ms is killed and fails (an example that never exits is a bug too). */
function run(cmd, args, cwd, env = {}, timeout = 600_000) {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...baseEnv, ...env },
      maxBuffer: 64 << 20,
      timeout,
      killSignal: 'SIGKILL',
    });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').slice(-60).join('\n');
    const why = error.signal ? `was killed (${error.signal}) after ${timeout / 1000} s without exiting` : 'failed';
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) ${why}:\n${output}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const failures = [];
const step = async (name, body) => {
  try {
    const note = await body();
    console.log(`ok    ${name}${note ? `: ${note}` : ''}`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL  ${name}\n${error.message.replace(/^/gm, '      ')}`);
  }
};

let registry;
let registryLog = '';
try {
  // ---------------------------------------------------------------- the registry
  const verdaccioDir = join(work, 'verdaccio');
  mkdirSync(verdaccioDir);
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, 'scripts/registry', f), join(verdaccioDir, f));
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], verdaccioDir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  writeFileSync(
    join(verdaccioDir, 'config.yaml'),
    [
      'storage: ./storage',
      'auth:',
      '  htpasswd:',
      '    file: ./htpasswd',
      '    max_users: 10',
      // No uplinks: this registry serves @embedding-layer/* only; consumers get everything else
      // from the public registry through their own (scoped) .npmrc.
      'packages:',
      "  '@embedding-layer/*':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  registry = spawn(
    process.execPath,
    [
      join(verdaccioDir, 'node_modules/verdaccio/bin/verdaccio'),
      '--config',
      join(verdaccioDir, 'config.yaml'),
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { cwd: verdaccioDir, stdio: ['ignore', 'pipe', 'pipe'], env: baseEnv },
  );
  registry.stdout.on('data', (d) => (registryLog += d));
  registry.stderr.on('data', (d) => (registryLog += d));
  for (let i = 0; ; i++) {
    if (registry.exitCode !== null) throw new Error(`Verdaccio exited at start (code ${registry.exitCode}):\n${registryLog}`);
    const ok = await fetch(`${url}-/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 120) throw new Error(`Verdaccio did not answer on ${url} within 60 s:\n${registryLog}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const user = await fetch(`${url}-/user/org.couchdb.user:ci`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ci', password: 'ci-password', email: 'ci@example.invalid', type: 'user' }),
  });
  const { token } = await user.json();
  if (!token) throw new Error(`Verdaccio gave no token (HTTP ${user.status})`);
  const userconfig = join(work, 'publisher.npmrc');
  writeFileSync(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  console.log(`ok    Verdaccio 6.8.0 on ${url} (pid ${registry.pid}), ${elapsed()}`);

  // ---------------------------------------------------------------- version and publish a throwaway copy
  const copy = join(work, 'repo');
  for (const file of run('git', ['ls-files'], root).split('\n').filter(Boolean)) {
    if (!existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(root, file), join(copy, file));
  }
  const workspaces = JSON.parse(run('npm', ['query', '.workspace', '--json'], root)).filter((p) => !p.private);
  for (const p of workspaces) {
    if (!existsSync(join(root, p.location, 'dist'))) throw new Error(`${p.name} is not built: run npx turbo run build first`);
    cpSync(join(root, p.location, 'dist'), join(copy, p.location, 'dist'), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  run('npx', ['changeset', 'version'], copy);
  const version = JSON.parse(readFileSync(join(copy, 'packages/core/package.json'), 'utf8')).version;
  const range = `^${version}`;
  const publishEnv = { npm_config_registry: url, npm_config_userconfig: userconfig };
  run('npx', ['changeset', 'publish', '--no-git-tag'], copy, publishEnv);
  const published = [];
  for (const p of workspaces) {
    const info = JSON.parse(run('npm', ['view', `${p.name}@${version}`, 'version', '--json'], work, publishEnv) || 'null');
    if (info !== version) throw new Error(`${p.name}@${version} is not on the registry after changeset publish`);
    published.push(p.name);
  }
  console.log(
    `ok    changeset version + changeset publish: ${published.length} packages at ${version} (${published.join(', ')}), ${elapsed()}`,
  );

  // ---------------------------------------------------------------- install by name and range, as a user
  const devTools = ['typescript@5.9.3', '@types/node@20.19.43'];
  const scenarios = [
    { name: 'adapter-js', packages: ['@embedding-layer/adapter-js'], peers: [], readme: '@embedding-layer/adapter-js', cjs: true },
    {
      name: 'adapter-tfjs',
      packages: ['@embedding-layer/adapter-tfjs'],
      peers: ['@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0'],
      readme: '@embedding-layer/adapter-tfjs',
    },
    {
      name: 'adapter-onnx',
      packages: ['@embedding-layer/adapter-onnx'],
      peers: ['onnxruntime-node@1.30.0'],
      readme: '@embedding-layer/adapter-onnx',
    },
    { name: 'io', packages: ['@embedding-layer/io', '@embedding-layer/adapter-js'], peers: [], readme: '@embedding-layer/io' },
    { name: 'core', packages: [], peers: [], readme: '@embedding-layer/core', extra: ['@embedding-layer/adapter-js'] },
    { name: 'cli', packages: ['@embedding-layer/cli'], peers: [], cli: true },
  ];
  for (const s of scenarios) {
    const names = ['@embedding-layer/core', ...s.packages, ...(s.extra ?? [])];
    await step(
      `${s.name}: npm install ${names.map((p) => `${p}@${range}`).join(' ')}${s.peers.length ? ` + ${s.peers.join(' ')}` : ''}`,
      async () => {
        const dir = join(work, `try-${s.name}`);
        mkdirSync(dir);
        // allowScripts: onnxruntime-node's install script downloads CUDA libraries from a host many
        // networks cannot reach; the adapter-onnx README tells users to deny it like this.
        writeFileSync(
          join(dir, 'package.json'),
          JSON.stringify({ name: `try-${s.name}`, private: true, type: 'module', allowScripts: { 'onnxruntime-node': false } }),
        );
        writeFileSync(join(dir, '.npmrc'), `@embedding-layer:registry=${url}\nfund=false\naudit=false\n`);
        const wanted = names.map((p) => `${p}@${range}`);
        run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...wanted, ...s.peers, ...devTools], dir);
        const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
        for (const [path, entry] of Object.entries(lock.packages)) {
          if (!path.includes('node_modules/@embedding-layer/')) continue;
          if (entry.version !== version) throw new Error(`${path} is ${entry.version}, expected ${version}`);
        }
        const notes = [];
        if (s.readme) {
          writeReadmeExample(dir, s.readme);
          run('npx', ['tsc', '-p', 'tsconfig.json'], dir);
          run('node', ['out/example.js'], dir, {}, 120_000);
          notes.push('README example type-checks and runs');
        }
        if (s.cjs) {
          writeFileSync(
            join(dir, 'probe.cjs'),
            `const { Embedding } = require('@embedding-layer/core');
const { createJsBackend } = require('@embedding-layer/adapter-js');
Embedding.create({ inputDim: 1000, outputDim: 64, inputLength: 10 }, { backend: createJsBackend() })
  .then((layer) => layer.predict({ data: new Int32Array(320), shape: [32, 10] }))
  .then((out) => { if (out.shape.join() !== '32,10,64') throw new Error('shape ' + out.shape); });`,
          );
          run('node', ['probe.cjs'], dir, {}, 120_000);
          notes.push('require() from CommonJS works');
        }
        if (s.cli) {
          const printed = run('npx', ['embedding-layer', '--version'], dir, {}, 120_000).trim();
          if (printed !== version) throw new Error(`npx embedding-layer --version printed ${JSON.stringify(printed)}, expected ${version}`);
          const demo = run('npx', ['embedding-layer', 'demo'], dir, {}, 300_000);
          if (!/agree bit for bit/.test(demo)) throw new Error(`npx embedding-layer demo:\n${demo}`);
          notes.push(`npx embedding-layer --version = ${printed}; demo agrees`);
        }
        return notes.join('; ');
      },
    );
  }
} catch (error) {
  failures.push('setup');
  console.log(`FAIL  ${error.message}`);
} finally {
  if (registry && registry.exitCode === null) {
    registry.kill('SIGTERM');
    const stopped = await Promise.race([
      new Promise((resolve) => registry.once('exit', () => resolve(true))),
      new Promise((resolve) => setTimeout(() => resolve(false), 10_000)),
    ]);
    if (!stopped) registry.kill('SIGKILL');
    console.log(`ok    stopped Verdaccio (pid ${registry.pid})`);
  }
  if (failures.length && registryLog) console.log(`registry log (last lines):\n${registryLog.split('\n').slice(-30).join('\n')}`);
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
console.log(failures.length ? `${failures.length} failed (${elapsed()})` : `all passed (${elapsed()})`);
process.exit(failures.length ? 1 : 0);
