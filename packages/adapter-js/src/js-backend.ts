import type { EmbeddingBackendV1, EmbeddingOutput, EmbeddingTableV1, IndexTensor, ResolvedEmbeddingConfig } from '@embedding-layer/core';

/** Options of {@link createJsBackend}. None yet; the object is reserved for later options. */
export type JsBackendOptions = Record<string, never>;

/** One ArrayBuffer holds at most 2^32 bytes on Node 20 (`buffer.constants.MAX_LENGTH`); larger tables need sharding. */
const MAX_TABLE_BYTES = 2 ** 32;

class JsTable implements EmbeddingTableV1 {
  private weights: Float32Array;
  private readonly outputDim: number;

  constructor(config: ResolvedEmbeddingConfig, weights: Float32Array) {
    this.weights = weights;
    this.outputDim = config.outputDim;
  }

  doLookup(indices: IndexTensor, into?: Float32Array): EmbeddingOutput {
    const d = this.outputDim;
    const ids = indices.data;
    const table = this.weights;
    const out = into ?? new Float32Array(ids.length * d);
    // One bulk copy per row: the engine's memcpy moves the floats, no per-element JS loop.
    for (let i = 0; i < ids.length; i++) {
      const start = ids[i]! * d;
      out.set(table.subarray(start, start + d), i * d);
    }
    return { data: out, shape: [...indices.shape, d] };
  }

  doGetWeights(): Float32Array {
    return this.weights;
  }

  doSetWeights(weights: Float32Array): void {
    this.weights = weights;
  }

  doScatterAdd(rows: Int32Array, deltas: Float32Array): void {
    const d = this.outputDim;
    const w = this.weights;
    for (let k = 0; k < rows.length; k++) {
      const base = rows[k]! * d;
      const src = k * d;
      for (let c = 0; c < d; c++) w[base + c] = w[base + c]! + deltas[src + c]!;
    }
  }

  doDispose(): void {
    this.weights = new Float32Array(0);
  }
}

/**
 * The plain JavaScript backend: the table is one row-major Float32Array; a lookup copies one
 * row per index with `TypedArray.set`. No dependencies; runs in Node and browsers.
 *
 * @example
 * ```ts
 * const layer = await Embedding.create({ inputDim: 1000, outputDim: 64 }, { backend: createJsBackend() });
 * ```
 */
export function createJsBackend(_options: JsBackendOptions = {}): EmbeddingBackendV1 {
  return {
    specificationVersion: 'v1',
    name: 'js',
    supports: { training: true, lookupInto: true, dtypes: ['float32'], maxTableBytes: MAX_TABLE_BYTES },
    doCreateTable: (config, weights) => new JsTable(config, weights),
  };
}
