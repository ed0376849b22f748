#!/usr/bin/env node
// Every README example runs as written: each ```ts block of the repository's READMEs is
// type-checked (tsc, strict, NodeNext, as an ES module, so top-level await is allowed) and run
// with Node, against the built workspace packages. Run after `npx turbo run build`.
//
// An HTML comment right before a block changes how it is used:
//   <!-- example: continues the one above -->  the block is appended to the previous one
//   <!-- example: type-check only (reason) -->  type-checked, not run (a vitest file, a browser page)
// Blocks in other languages (sh, json, js) are not checked.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EXAMPLE_COMPILER_OPTIONS } from './readme-example.mjs';

const root = new URL('..', import.meta.url).pathname;
// Inside node_modules, so the examples resolve the workspace packages and their peers as a user's project would.
const work = join(root, 'node_modules', '.cache', 'readme-examples');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeFileSync(join(work, 'package.json'), JSON.stringify({ private: true, type: 'module' }));

const readmes = [
  'README.md',
  ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/README.md`),
  'conformance/README.md',
  'browser/README.md',
].filter((f) => existsSync(join(root, f)));

/** @type {{ name: string; source: string; code: string; run: boolean }[]} */
const examples = [];
for (const file of readmes) {
  const text = readFileSync(join(root, file), 'utf8');
  const fence = /(?:<!--\s*example:\s*([^>]*?)\s*-->\s*\n)?```ts\n([\s\S]*?)```/g;
  let n = 0;
  for (const match of text.matchAll(fence)) {
    const directive = match[1] ?? '';
    const line = text.slice(0, match.index).split('\n').length;
    const code = match[2];
    if (/^continues/.test(directive)) {
      const previous = examples.at(-1);
      if (!previous || previous.source.split(':')[0] !== file) throw new Error(`${file}:${line}: "continues" but no example above it`);
      previous.code += `\n// ${file}:${line}\n${code}`;
      continue;
    }
    n++;
    const name = `${file.replace(/\/?README\.md$/, '').replaceAll('/', '-') || 'root'}-${n}`;
    examples.push({ name, source: `${file}:${line}`, code, run: !/^type-check only/.test(directive) });
  }
}

const files = [];
for (const e of examples) {
  mkdirSync(join(work, e.name));
  writeFileSync(join(work, e.name, 'example.ts'), e.code);
  files.push(`${e.name}/example.ts`);
}
writeFileSync(
  join(work, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: { ...EXAMPLE_COMPILER_OPTIONS, rootDir: '.', lib: ['ES2022', 'DOM'] },
    files,
  }),
);

let failed = 0;
try {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: work,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (error) {
  // tsc names the file (<example>/example.ts(line,col)); map it back to the README.
  const out = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  for (const e of examples) if (out.includes(`${e.name}/example.ts`)) console.log(`FAIL  ${e.source}: does not type-check`);
  console.log(out.trim());
  process.exit(1);
}
for (const e of examples) {
  if (!e.run) {
    console.log(`ok    ${e.source}: type-checks (not run)`);
    continue;
  }
  try {
    execFileSync(process.execPath, [join('out', e.name, 'example.js')], {
      cwd: join(work),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    console.log(`ok    ${e.source}: type-checks and runs`);
  } catch (error) {
    failed++;
    const why = error.signal ? `still running after 120 s (${error.signal})` : `exit ${error.status}`;
    console.log(`FAIL  ${e.source}: ${why}\n${`${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n')}`);
  }
}
rmSync(work, { recursive: true, force: true });
console.log(`${examples.length - failed} of ${examples.length} README examples pass (${relative(root, work)})`);
process.exit(failed ? 1 : 0);
