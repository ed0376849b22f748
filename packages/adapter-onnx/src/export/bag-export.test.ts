import { readFileSync } from 'node:fs';
import { EmbeddingBag, type EmbeddingBagConfig, EmbeddingError } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOnnxBackend } from '../index.js';
import { loadStrictly } from '../testing/helpers.js';
import { type BagToOnnxOptions, bagToOnnx } from './bag-to-onnx.js';

interface ForwardCase {
  id: string;
  kind: string;
  config: Record<string, unknown>;
  weights: number[][];
  input: number[] | number[][];
  offsets?: number[];
  perSampleWeights?: number[] | number[][];
  expect: { output: number[]; shape: number[] };
}

// The conformance package's torch 1.13 fixtures (conformance/scripts/make_pytorch_bag_fixtures.py).
const fixture = JSON.parse(readFileSync(new URL('../../../../conformance/fixtures/pytorch-bag.json', import.meta.url), 'utf8'));
const cases = (fixture as { cases: ForwardCase[] }).cases.filter((c) => c.kind === 'forward');

function configOf(c: ForwardCase): EmbeddingBagConfig {
  const { normType, ...rest } = c.config as { normType?: number };
  return { ...(rest as unknown as EmbeddingBagConfig), ...(normType === undefined ? {} : { normType }) };
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run(feeds);
    return result.output!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function expectClose(actual: Float32Array, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const allowed = 1e-6 * (1 + Math.abs(expected[i]!));
    if (!(Math.abs(actual[i]! - expected[i]!) <= allowed))
      expect.fail(`at ${i}: expected ${expected[i]} (torch, +-${allowed}), received ${actual[i]}`);
  }
}

/** The feeds of the ragged graph: a 2-D input becomes its rows one after another with offsets 0, L, 2L, ... */
function raggedFeeds(c: ForwardCase, indexType: 'int32' | 'int64'): Record<string, ort.Tensor> {
  const fixed = Array.isArray(c.input[0]);
  const ids = (c.input as (number | number[])[]).flat();
  const width = fixed ? (c.input[0] as number[]).length : 0;
  const offsets = fixed ? (c.input as number[][]).map((_, b) => b * width) : c.offsets!;
  const typed = (v: number[]) => (indexType === 'int64' ? BigInt64Array.from(v.map(BigInt)) : Int32Array.from(v));
  const feeds: Record<string, ort.Tensor> = {
    indices: new ort.Tensor(indexType, typed(ids), [ids.length]),
    offsets: new ort.Tensor(indexType, typed(offsets), [offsets.length]),
  };
  if (c.perSampleWeights) {
    const w = (c.perSampleWeights as (number | number[])[]).flat();
    feeds.per_sample_weights = new ort.Tensor('float32', Float32Array.from(w), [w.length]);
  }
  return feeds;
}

describe('ONNX export of an EmbeddingBag (torch 1.13 fixtures, run by onnxruntime-node)', () => {
  it('covers every forward case of the fixture (each mode, fixed, ragged, include_last_offset, per_sample_weights, padding_idx, max_norm)', () => {
    expect(cases.length).toBe(19);
  });
  for (const c of cases) {
    const fixed = Array.isArray(c.input[0]);
    it(`${c.id}: the exported graph${fixed ? 's (fixed and ragged)' : ''} give torch's pooled output; exported before any lookup`, async () => {
      const bag = await EmbeddingBag.create(configOf(c), { backend: await createOnnxBackend(), weights: [c.weights] });
      try {
        const weighted = c.perSampleWeights !== undefined;
        const options: BagToOnnxOptions = { perSampleWeights: weighted };
        // Before any lookup: with max_norm the table still has rows over it, so the graph must rescale them.
        const ragged = await bagToOnnx(bag, options);
        await loadStrictly(ragged);
        expectClose(await run(ragged, raggedFeeds(c, 'int64')), c.expect.output);
        if (fixed) {
          const graph = await bagToOnnx(bag, { ...options, bags: 'fixed', indexType: 'int32' });
          await loadStrictly(graph);
          const rows = c.input as number[][];
          const shape = [rows.length, rows[0]!.length];
          const feeds: Record<string, ort.Tensor> = { indices: new ort.Tensor('int32', Int32Array.from(rows.flat()), shape) };
          if (weighted)
            feeds.per_sample_weights = new ort.Tensor('float32', Float32Array.from((c.perSampleWeights as number[][]).flat()), shape);
          expectClose(await run(graph, feeds), c.expect.output);
        }
        // And the layer's own predict on the ONNX backend agrees.
        const predicted = await bag.predict(c.input, {
          ...(c.offsets ? { offsets: c.offsets } : {}),
          ...(weighted ? { perSampleWeights: c.perSampleWeights! } : {}),
        });
        expectClose(predicted.data, c.expect.output);
      } finally {
        await bag.dispose();
      }
    });
  }

  it('no indices at all, and bags of length 0, give zeros in every mode', async () => {
    for (const mode of ['sum', 'mean', 'max'] as const) {
      const bag = await EmbeddingBag.create({ inputDim: 4, outputDim: 2, mode, seed: 1 }, { backend: await createOnnxBackend() });
      try {
        const ragged = await bagToOnnx(bag, { indexType: 'int32' });
        const out = await run(ragged, {
          indices: new ort.Tensor('int32', new Int32Array(0), [0]),
          offsets: new ort.Tensor('int32', Int32Array.from([0, 0, 0]), [3]),
        });
        expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
        const fixed = await bagToOnnx(bag, { bags: 'fixed' });
        const out2 = await run(fixed, { indices: new ort.Tensor('int64', new BigInt64Array(0), [2, 0]) });
        expect(Array.from(out2)).toEqual([0, 0, 0, 0]);
      } finally {
        await bag.dispose();
      }
    }
  });

  it('refuses per_sample_weights outside mode sum, as torch', async () => {
    const bag = await EmbeddingBag.create({ inputDim: 4, outputDim: 2, mode: 'max', seed: 1 }, { backend: await createOnnxBackend() });
    const error = await bagToOnnx(bag, { perSampleWeights: true }).catch((e: unknown) => e);
    expect(EmbeddingError.isInstance(error) && error.code).toBe('INVALID_CONFIG');
    await bag.dispose();
  });
});
