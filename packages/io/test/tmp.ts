import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp directory per test file; call the returned cleanup in afterAll. */
export async function makeTempDir(
  prefix = 'io-test-',
): Promise<{ dir: string; cleanup: () => Promise<void>; list: () => Promise<string[]> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }), list: () => readdir(dir) };
}
