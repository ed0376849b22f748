#!/usr/bin/env node
// publint --strict and @arethetypeswrong/cli on every publishable workspace (built first).
// The packages are ESM-only (Node >= 20.19 can require() them), so attw runs with its
// esm-only profile, which still fails on any wrong type resolution from ESM or bundlers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dirs = execFileSync('npm', ['query', '.workspace', '--json'], { cwd: root, encoding: 'utf8' });
const packages = JSON.parse(dirs).filter((p) => !p.private);
let failed = 0;
for (const p of packages) {
  const dir = join(root, p.location);
  for (const [tool, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'esm-only']],
  ]) {
    try {
      execFileSync('npx', [tool, ...args], { cwd: dir, stdio: 'pipe', encoding: 'utf8' });
      console.log(`ok    ${tool.padEnd(8)} ${p.name}`);
    } catch (error) {
      failed++;
      console.log(`FAIL  ${tool.padEnd(8)} ${p.name}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}
console.log(`${packages.length * 2 - failed} passed, ${failed} failed (workspaces: ${workspaces.join(', ')})`);
process.exit(failed ? 1 : 0);
