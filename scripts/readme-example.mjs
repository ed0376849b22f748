// What scripts/pack-install.mjs, scripts/publish-registry.mjs and scripts/readme-examples.mjs share: the first ```ts block of an
// installed package's README, written into a fresh folder as example.ts with a strict NodeNext
// tsconfig, ready for `npx tsc -p tsconfig.json` and `node out/example.js`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How README examples are compiled: strict, NodeNext, as a user's project would (output in out/). */
export const EXAMPLE_COMPILER_OPTIONS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  outDir: 'out',
  skipLibCheck: true,
  types: ['node'],
};

/** The first ```ts block of a Markdown text. */
export function firstTsBlock(markdown, what = 'README') {
  const match = /```ts\n([\s\S]*?)```/.exec(markdown);
  if (!match) throw new Error(`${what} has no \`\`\`ts example`);
  return match[1];
}

/** Writes `dir`/example.ts (the README example of `packageName` as installed in `dir`) and its tsconfig.json. */
export function writeReadmeExample(dir, packageName) {
  const readme = readFileSync(join(dir, 'node_modules', packageName, 'README.md'), 'utf8');
  writeFileSync(join(dir, 'example.ts'), firstTsBlock(readme, `${packageName}'s README`));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: EXAMPLE_COMPILER_OPTIONS, files: ['example.ts'] }));
}
