#!/usr/bin/env node
// The release path without publishing: on a throwaway copy of the tracked files,
// `changeset version` must move every published package to one new version (one `fixed`
// group), update internal ranges, write CHANGELOGs from the pending changesets and consume
// them; then `npm publish --dry-run` must accept every publishable package of the real tree
// (built first). Publishing itself needs a registry token; `npm run release` does it.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const failures = [];
const check = (ok, message) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${message}`);
  if (!ok) failures.push(message);
};

const copy = mkdtempSync(join(tmpdir(), 'embedding-layer-release-'));
for (const file of sh('git', ['ls-files'], root).split('\n').filter(Boolean)) {
  if (!existsSync(join(root, file))) continue;
  mkdirSync(dirname(join(copy, file)), { recursive: true });
  cpSync(join(root, file), join(copy, file));
}
symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
const pending = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
check(pending.length > 0, `${pending.length} pending changesets`);

const workspaces = JSON.parse(sh('npm', ['query', '.workspace', '--json'], root)).filter((p) => !p.private);
const before = Object.fromEntries(workspaces.map((p) => [p.name, p.version]));
sh('npx', ['changeset', 'version'], copy);

const versions = new Set();
for (const p of workspaces) {
  const pkg = JSON.parse(readFileSync(join(copy, p.location, 'package.json'), 'utf8'));
  versions.add(pkg.version);
  check(pkg.version !== before[p.name], `${p.name}: ${before[p.name]} -> ${pkg.version}`);
  const changelog = join(copy, p.location, 'CHANGELOG.md');
  check(
    existsSync(changelog) && readFileSync(changelog, 'utf8').includes(`## ${pkg.version}`),
    `${p.name}: CHANGELOG.md has a ${pkg.version} entry`,
  );
  for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
    if (dep.startsWith('@embedding-layer/')) check(range === `^${pkg.version}`, `${p.name}: depends on ${dep}@${range}`);
  }
}
check(versions.size === 1, `one fixed version for every package: ${[...versions].join(', ')}`);
const left = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
check(left.length === 0, 'the changesets were consumed');
for (const name of ['@embedding-layer/bench', '@embedding-layer/browser']) {
  const p = JSON.parse(sh('npm', ['query', `[name="${name}"]`, '--json'], root))[0];
  if (p)
    check(
      JSON.parse(readFileSync(join(copy, p.location, 'package.json'), 'utf8')).version === p.version,
      `${name} (private) keeps its version`,
    );
}
rmSync(copy, { recursive: true, force: true });

for (const p of workspaces) {
  try {
    sh('npm', ['publish', '--dry-run', '--access', 'public'], join(root, p.location));
    check(true, `npm publish --dry-run ${p.name}`);
  } catch (error) {
    check(false, `npm publish --dry-run ${p.name}: ${error.stderr ?? error.message}`);
  }
}
console.log(`${failures.length === 0 ? 'all checks' : `${failures.length} checks failed`}`);
process.exit(failures.length ? 1 : 0);
