import { readFileSync } from 'node:fs';
import { Embedding, type EmbeddingConfig } from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOnnxBackend } from '../index.js';
import { loadStrictly } from '../testing/helpers.js';
import { toOnnx } from './to-onnx.js';

interface LookupCase {
  id: string;
  kind: string;
  config: Record<string, unknown>;
  weights: number[][];
  input: number[][];
  expect: { output: number[]; weights: number[][] };
}

// The conformance package's torch 1.13 fixtures (conformance/scripts/make_pytorch_fixtures.py).
const pytorch = JSON.parse(readFileSync(new URL('../../../../conformance/fixtures/pytorch.json', import.meta.url), 'utf8'));
const cases = (pytorch as { cases: LookupCase[] }).cases.filter((c) => c.kind === 'lookup');

function configOf(c: LookupCase): EmbeddingConfig {
  const { normType, ...rest } = c.config as { normType?: number | { $number: string } };
  return {
    ...(rest as unknown as EmbeddingConfig),
    ...(normType === undefined ? {} : { normType: typeof normType === 'number' ? normType : Number(normType.$number) }),
  };
}

describe('ONNX export of a layer with max_norm (torch 1.13 fixtures, run by onnxruntime-node)', () => {
  it('has the five lookup cases (norm_type 2, 1, Infinity, 3; rows of norm ~1e-3)', () => expect(cases.map((c) => c.id)).toHaveLength(5));
  for (const c of cases) {
    it(`${c.id}: the exported graph rescales the rows torch rescales; the table in the file is the layer's, unrenormalized`, async () => {
      const layer = await Embedding.create(configOf(c), { backend: await createOnnxBackend(), weights: [c.weights] });
      // Exported before any lookup: the table still has rows over max_norm, so the graph must rescale them.
      const bytes = await toOnnx(layer);
      // onnxruntime-node's own model checks, strict session options (the repo's TS checker does not model these operators).
      await loadStrictly(bytes);
      const session = await ort.InferenceSession.create(bytes);
      const ids = Int32Array.from(c.input.flat());
      const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('int32', ids, [c.input.length, c.input[0]!.length]) });
      const out = result[session.outputNames[0]!]!.data as Float32Array;
      expect(out.length).toBe(c.expect.output.length);
      for (let i = 0; i < out.length; i++)
        expect(Math.abs(out[i]! - c.expect.output[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(c.expect.output[i]!));
      // And what the layer's own lookup gives, after which the table holds the rescaled rows.
      const predicted = (await layer.predict(c.input)).data;
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - predicted[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(predicted[i]!));
      await session.release();
      await layer.dispose();
    });
  }
});
