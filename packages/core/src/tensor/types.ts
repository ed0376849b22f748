/** Typed arrays accepted as index data. Floats must hold integral values (Keras accepts float inputs). */
export type IndexData =
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** Nested arrays of indices, any rank >= 1: `[[4], [20]]`. */
export type NestedIndices = number | bigint | readonly NestedIndices[];

/**
 * Index input: nested arrays, a bare typed array (rank 1), or `{ data, shape }` with a
 * row-major typed array (or number array) whose length is the product of `shape`.
 */
export type IndexInput =
  | readonly NestedIndices[]
  | IndexData
  | { readonly data: IndexData | readonly number[]; readonly shape: readonly number[] };

/** Validated indices: int32, row-major, every value in [0, input_dim). What a backend's `doLookup` receives. */
export interface IndexTensor {
  readonly data: Int32Array;
  readonly shape: readonly number[];
}

/** A lookup result: row-major float32 of shape `[...indexShape, outputDim]`. */
export interface EmbeddingOutput {
  data: Float32Array;
  shape: number[];
  /**
   * On a fresh output of `Embedding.predict` (not one written into a caller's `out`): gives the
   * output's memory back to the layer, TF.js's `tensor.dispose()` idiom. `data` becomes empty
   * (its ArrayBuffer is detached, without a copy), and the memory serves the layer's next fresh
   * output of the same size, which is then still in cache (as PyTorch's caching allocator hands
   * a freed tensor's block to the next one). Optional to call: an output never disposed is
   * garbage-collected as before. A second call does nothing.
   */
  dispose?(): void;
}

/** A mask: 1 where the index is not 0, 0 where it is; same shape as the indices. */
export interface MaskTensor {
  data: Uint8Array;
  shape: number[];
}
