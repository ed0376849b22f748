import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidConfigError } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from './index.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * A fresh process (the primer is once per process): creates a layer, then asks core's
 * `raiseMallocThresholds` whether it still had to run (false: the layer's creation ran it).
 * The effect itself (page faults of freed fresh outputs) depends on when V8 collects them, so
 * it is measured by bench/profile/dispose-layer-probe.mjs (1,140 faults and 6.0 ms of CPU per
 * 8 MiB fresh lookup unprimed, 22 and 3.4 ms primed), not asserted here.
 */
const CHILD = `
import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding } from '@embedding-layer/core';
import { raiseMallocThresholds } from '@embedding-layer/core/backend';
const option = process.env.RAISE === 'default' ? {} : { raiseMallocThresholds: process.env.RAISE !== 'false' };
const layer = await Embedding.create({ inputDim: 4, outputDim: 2 }, { backend: createJsBackend(option) });
console.log(JSON.stringify({ stillToRun: raiseMallocThresholds() }));
await layer.dispose();
`;

function stillToRun(raise: 'default' | 'true' | 'false'): boolean {
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: PACKAGE_DIR,
    env: { ...process.env, RAISE: raise },
    encoding: 'utf8',
  });
  return (JSON.parse(stdout.trim().split('\n').pop()!) as { stillToRun: boolean }).stillToRun;
}

describe('raiseMallocThresholds (core/backend, run when a table is created)', () => {
  it('is a boolean option', () => {
    expect(() => createJsBackend({ raiseMallocThresholds: 'yes' as never })).toThrow(InvalidConfigError);
    expect(() => createJsBackend({ raiseMallocThresholds: false })).not.toThrow();
  });

  it.runIf(process.platform === 'linux')('runs once per process when a layer is created (default and true), not with false', () => {
    expect(stillToRun('default')).toBe(false);
    expect(stillToRun('true')).toBe(false);
    expect(stillToRun('false')).toBe(true);
  });
});
