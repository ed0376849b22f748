import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidConfigError } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createOnnxBackend } from './index.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * A fresh process (its malloc state is what is tested) that looks up 16,384 rows of 128 floats
 * (8 MiB outputs, fresh and into a buffer) 40 times after 10 warm-up calls, and prints the
 * minor page faults per call and the pages of one output. The table is filled by a loop: a
 * `.map` would free a table-sized temporary, which raises malloc's thresholds by itself.
 */
const CHILD = `
import { createOnnxBackend } from '@embedding-layer/adapter-onnx';
import { Embedding } from '@embedding-layer/core';
const [V, D, N] = [10000, 128, 16384];
const table = new Float32Array(V * D);
for (let i = 0; i < table.length; i++) table[i] = i;
const ids = new Int32Array(N);
for (let i = 0; i < N; i++) ids[i] = (i * 7919) % V;
const backend = createOnnxBackend({ raiseMallocThresholds: process.env.RAISE !== 'false' });
const layer = await Embedding.create({ inputDim: V, outputDim: D }, { backend, weights: [table] });
const out = new Float32Array(N * D);
const call = (i) => layer.predict({ data: ids, shape: [N] }, i % 2 ? { out } : undefined);
for (let i = 0; i < 10; i++) await call(i);
const before = process.resourceUsage().minorPageFault;
const calls = 40;
for (let i = 0; i < calls; i++) await call(i);
const faults = process.resourceUsage().minorPageFault - before;
await layer.dispose();
console.log(JSON.stringify({ faultsPerCall: faults / calls, outputPages: (N * D * 4) / 4096 }));
`;

function outputPageFaults(raise: boolean): { faultsPerCall: number; outputPages: number } {
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: PACKAGE_DIR,
    env: { ...process.env, RAISE: String(raise) },
    encoding: 'utf8',
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { faultsPerCall: number; outputPages: number };
}

describe('raiseMallocThresholds', () => {
  it('is a boolean option', () => {
    expect(() => createOnnxBackend({ raiseMallocThresholds: 'yes' as never })).toThrow(InvalidConfigError);
    expect(() => createOnnxBackend({ raiseMallocThresholds: false })).not.toThrow();
  });

  // onnxruntime-node copies each output into a new ArrayBuffer; with glibc's initial thresholds
  // the pages of freed outputs go back to the kernel and every call faults its output in again
  // (about one fault per output page). Counted, not timed.
  it.runIf(process.platform === 'linux')('a fresh process does not fault in each 8 MiB output again (default: raised)', () => {
    const { faultsPerCall, outputPages } = outputPageFaults(true);
    expect(outputPages).toBe(2048);
    expect(faultsPerCall).toBeLessThan(outputPages / 4);
  });
});
