// Test helpers (not part of the public API).

import { randomWords } from '@embedding-layer/conformance';
import {
  type EmbeddingBackendV1,
  EmbeddingError,
  type EmbeddingTableV1,
  type IndexTensor,
  type ResolvedEmbeddingConfig,
} from '@embedding-layer/core';
import * as ort from 'onnxruntime-node';
import type { OnnxRuntime } from '../runtime/load-runtime.js';

/** Row copy computed here, without ONNX: the expected output of a lookup. */
export function gatherRows(weights: Float32Array, ids: ArrayLike<number | bigint>, outputDim: number): Float32Array {
  const out = new Float32Array(ids.length * outputDim);
  for (let i = 0; i < ids.length; i++) {
    const row = Number(ids[i]);
    for (let c = 0; c < outputDim; c++) out[i * outputDim + c] = weights[row * outputDim + c]!;
  }
  return out;
}

/**
 * The seeded initial table of a config with Keras's default initializer (RandomUniform(-0.05,
 * 0.05)), computed here from the PRNG's documented algorithm (xoshiro128** seeded by SplitMix32,
 * as packages/core/src/random/prng.ts and conformance/scripts/make_fixtures.py describe it), not
 * with core's initializer: a lookup reference made by the code that made the backend's table
 * would agree with it whatever that code did.
 */
export function initialTable(config: {
  inputDim: number;
  outputDim: number;
  seed: number;
  embeddingsInitializer?: undefined;
}): Float32Array {
  const { inputDim, outputDim, seed } = config;
  let state = seed >>> 0;
  const splitMix = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [splitMix(), splitMix()];
  state = (state ^ Math.floor(seed / 2 ** 32)) >>> 0;
  s.push(splitMix(), splitMix());
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2] = (s[2]! ^ s[0]!) >>> 0;
    s[3] = (s[3]! ^ s[1]!) >>> 0;
    s[1] = (s[1]! ^ s[2]!) >>> 0;
    s[0] = (s[0]! ^ s[3]!) >>> 0;
    s[2] = (s[2]! ^ t) >>> 0;
    s[3] = rotl(s[3]!, 11);
    return result;
  };
  const table = new Float32Array(inputDim * outputDim);
  for (let i = 0; i < table.length; i++) {
    const a = nextU32() >>> 5;
    const b = nextU32() >>> 6;
    table[i] = -0.05 + 0.1 * ((a * 67108864 + b) / 9007199254740992);
  }
  return table;
}

/** Deterministic pseudo-random indices in [0, inputDim). */
export function randomIndices(count: number, inputDim: number, seed: number): Int32Array {
  return Int32Array.from(randomWords(seed, count), (word) => word % inputDim);
}

/** The error code of a rejected promise or thrown call (undefined when it succeeds). */
export async function codeOf(action: () => unknown): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    return EmbeddingError.isInstance(error) ? error.code : `not an EmbeddingError: ${String(error)}`;
  }
  return undefined;
}

/**
 * Session options under which ONNX Runtime runs ONNX's own type and shape inference strictly:
 * a declared shape or type that the operators' inference contradicts fails the load (by
 * default ORT only warns and merges leniently). No optimization, so the graph is checked as written.
 */
export const STRICT_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: 'disabled',
  extra: { session: { strict_shape_type_inference: '1' } },
};

/** Loads a model with {@link STRICT_SESSION_OPTIONS} and releases it: rejects when ONNX's inference disagrees with the declarations. */
export async function loadStrictly(model: Uint8Array | string): Promise<void> {
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, STRICT_SESSION_OPTIONS)
      : await ort.InferenceSession.create(model, STRICT_SESSION_OPTIONS);
  await session.release();
}

/** Counts of what a wrapped onnxruntime-node did. */
export interface RuntimeCounts {
  create: number;
  release: number;
  run: number;
  feeds: Record<string, ort.Tensor>[];
}

/** The real onnxruntime-node, wrapped to count sessions created, released and run. */
export function spyRuntime(): { runtime: OnnxRuntime; counts: RuntimeCounts } {
  const counts: RuntimeCounts = { create: 0, release: 0, run: 0, feeds: [] };
  const create = async (...args: Parameters<typeof ort.InferenceSession.create>) => {
    counts.create++;
    const session = await (ort.InferenceSession.create as (...a: unknown[]) => Promise<ort.InferenceSession>)(...args);
    const run = session.run.bind(session);
    const release = session.release.bind(session);
    Object.assign(session, {
      run: (feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => {
        counts.run++;
        counts.feeds.push(feeds);
        return (run as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>)(feeds, ...rest);
      },
      release: () => {
        counts.release++;
        return release();
      },
    });
    return session;
  };
  return { runtime: { Tensor: ort.Tensor, InferenceSession: { create } } as unknown as OnnxRuntime, counts };
}

/** A minimal non-ONNX backend (a plain Float32Array), to show toOnnx/predictTensor work on any backend. */
export function createPlainBackend(): EmbeddingBackendV1 {
  return {
    specificationVersion: 'v1',
    name: 'plain-test',
    supports: {},
    doCreateTable(config: ResolvedEmbeddingConfig, weights: Float32Array): EmbeddingTableV1 {
      let w = weights;
      return {
        doLookup: (indices: IndexTensor) => ({
          data: gatherRows(w, indices.data, config.outputDim),
          shape: [...indices.shape, config.outputDim],
        }),
        doGetWeights: () => w,
        doSetWeights: (next) => {
          w = next;
        },
        doDispose: () => undefined,
      };
    },
  };
}
