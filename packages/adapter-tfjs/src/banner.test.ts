import { Embedding } from '@embedding-layer/core';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTfjsBackend, quietTfjsBanner } from './index.js';

const BANNER = /install our node\s+backend/;

function bannerSeen(spy: { mock: { calls: unknown[][] } }): boolean {
  return spy.mock.calls.some((args) => args.some((a) => typeof a === 'string' && BANNER.test(a)));
}

/** A fresh TF.js CPU backend instance under a new name: its first write would print the banner again. */
async function freshCpuBackend(name: string): Promise<void> {
  const Cpu = tf.findBackend('cpu')!.constructor as new () => tf.KernelBackend;
  tf.registerBackend(name, () => new Cpu());
  await tf.setBackend(name);
}

// This file runs in its own process: the first test sees TF.js's CPU backend before anything wrote to it.
describe('the "install tfjs-node" banner', () => {
  afterEach(() => vi.restoreAllMocks());

  it('does not reach the console when the backend and a layer are created and used', async () => {
    const warn = vi.spyOn(console, 'warn');
    const log = vi.spyOn(console, 'log');
    const layer = await Embedding.create({ inputDim: 10, outputDim: 2, seed: 1 }, { backend: await createTfjsBackend({ backend: 'cpu' }) });
    await layer.predict([[1, 2]]);
    await layer.dispose();
    expect(bannerSeen(warn) || bannerSeen(log)).toBe(false);
    expect(tf.env().getBool('PROD')).toBe(false);
  });

  it('control: a fresh CPU backend prints it on its first write; quietTfjsBanner consumes it without leaving prod mode on', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await freshCpuBackend('cpu-control');
    tf.scalar(1).dispose();
    expect(bannerSeen(warn)).toBe(true);

    warn.mockClear();
    await freshCpuBackend('cpu-quiet');
    quietTfjsBanner(tf);
    tf.tensor1d([1, 2, 3]).dispose();
    expect(bannerSeen(warn)).toBe(false);
    expect(tf.env().getBool('PROD')).toBe(false);
    await tf.setBackend('cpu');
  });
});
