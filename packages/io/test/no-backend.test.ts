// io imports no backend (design.md): its runtime dependencies and its built files name no
// `@embedding-layer/adapter-*` package, so installing io never brings a runtime along.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const IO = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(IO, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

describe('io depends on no backend', () => {
  it('lists no adapter among its dependencies or peers', () => {
    const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
    expect(names.filter((n) => n.startsWith('@embedding-layer/adapter-'))).toEqual([]);
  });

  it('imports no adapter from its built files', () => {
    const dist = join(IO, 'dist');
    const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(0);
    const offenders = files.filter((f) =>
      /from\s*["']@embedding-layer\/adapter-|import\(\s*["']@embedding-layer\/adapter-/.test(readFileSync(join(dist, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
