import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from './index.js';

/** conformance/fixtures/pytorch-sparse-adam.json, written by conformance/scripts/make_pytorch_sparse_adam.py (torch.optim.SparseAdam). */
interface SparseAdamFixture {
  inputDim: number;
  outputDim: number;
  optimizer: { className: string; config: Record<string, number | boolean> };
  initialWeights: number[][];
  steps: { indices: number[][]; targets: number[][][]; loss: number; weights: number[][] }[];
}

const conformanceDir = dirname(createRequire(import.meta.url).resolve('@embedding-layer/conformance/package.json'));
const fixture = JSON.parse(readFileSync(join(conformanceDir, 'fixtures', 'pytorch-sparse-adam.json'), 'utf8')) as SparseAdamFixture;
const { inputDim, outputDim } = fixture;
/** float32 rounding of a few operations done in another order than torch's; each step moves a row by about learning_rate (0.01). */
const TOLERANCE = 1e-6;

async function trained(optimizer: SparseAdamFixture['optimizer']): Promise<{ weights: Float32Array[]; losses: number[] }> {
  const layer = await Embedding.create(
    { inputDim, outputDim },
    { backend: createJsBackend(), weights: [Float32Array.from(fixture.initialWeights.flat())] },
  );
  layer.compile(optimizer, 'mse');
  const weights: Float32Array[] = [];
  const losses: number[] = [];
  for (const step of fixture.steps) {
    const x = { data: Int32Array.from(step.indices.flat()), shape: [step.indices.length, step.indices[0]!.length] };
    losses.push(await layer.trainOnBatch(x, Float32Array.from(step.targets.flat(2))));
    weights.push((await layer.getWeights())[0]!.slice());
  }
  await layer.dispose();
  return { weights, losses };
}

function maxDifference(a: Float32Array, b: number[][]): number {
  const flat = b.flat();
  let max = 0;
  for (let i = 0; i < flat.length; i++) max = Math.max(max, Math.abs(a[i]! - flat[i]!));
  return max;
}

describe("Adam { lazy: true } is PyTorch's SparseAdam", () => {
  it('matches torch.optim.SparseAdam after every step, idle rows included', async () => {
    const { weights, losses } = await trained(fixture.optimizer);
    fixture.steps.forEach((step, k) => {
      expect(losses[k]).toBeCloseTo(step.loss, 6);
      expect(maxDifference(weights[k]!, step.weights)).toBeLessThan(TOLERANCE);
    });
  });

  it("differs from Keras's dense Adam (the default) on rows a batch does not touch", async () => {
    const dense = await trained({ ...fixture.optimizer, config: { ...fixture.optimizer.config, lazy: false } });
    // Row 1 is trained at step 1 and idle at step 2: SparseAdam leaves it as it was, dense Adam moves it by its momentum.
    const row1 = (w: Float32Array) => Array.from(w.subarray(outputDim, 2 * outputDim));
    expect(fixture.steps[1]!.weights[1]).toEqual(fixture.steps[0]!.weights[1]);
    const moved = Math.max(...row1(dense.weights[1]!).map((v, c) => Math.abs(v - fixture.steps[1]!.weights[1]![c]!)));
    expect(moved).toBeGreaterThan(1e-3);
  });
});
