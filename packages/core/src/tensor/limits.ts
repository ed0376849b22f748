/** The longest typed array V8 allocates (Node 20): 2^32 - 1 elements. A lookup output and `getWeights()` are one Float32Array each. */
export const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

/** Bytes core moves per row-range call (getWeights, setWeights, training passes over the table): 16 MiB. */
export const CHUNK_BYTES = 16 * 2 ** 20;

/** Rows per chunk for rows of `outputDim` float32 values (at least 1). */
export function chunkRowsFor(outputDim: number): number {
  return Math.max(1, Math.floor(CHUNK_BYTES / Math.max(4, outputDim * 4)));
}
