/*
 * Keras 3's int8 Embedding quantization (keras/src/quantizers/quantizers.py `abs_max_quantize`,
 * as `Embedding.quantize('int8')` calls it with axis=-1): per row,
 *   scale = 127 / (max|row| + epsilon)          (epsilon = backend.epsilon() = 1e-7)
 *   q     = clip(round(row * scale), -127, 127)  (round half to even, as ops.round)
 * stored as int8 `_embeddings` (input_dim, output_dim) and float32 `embeddings_scale`
 * (input_dim,); dequantized as q / scale[row]. Every step is in float32, as Keras computes it.
 *
 * The codec is core's (`encodeInt8` / `decodeInt8` in @embedding-layer/core/backend), the one
 * the adapters' int8 storage uses, tested there against vectors of Keras's own formula: a table
 * written here, read by Keras, and held by an int8 backend has the same bits everywhere. Error
 * bound (core's `STORAGE.int8.bound`): (max|row| + 1e-7) / 254 plus float32 rounding.
 */
import { decodeInt8, encodeInt8 } from '@embedding-layer/core/backend';

/** @internal Keras 3's int8 per-row abs-max quantization of a row-major (rows, cols) matrix (core's codec). */
export function quantizeInt8(weights: Float32Array, rows: number, cols: number): { values: Int8Array; scales: Float32Array } {
  return encodeInt8(weights, rows, cols);
}

/** @internal Keras 3's int8 dequantization: `w[r, c] = q[r, c] / scale[r]`, in float32 (core's codec). */
export function dequantizeInt8(values: Int8Array, scales: Float32Array, rows: number, cols: number): Float32Array {
  return decodeInt8(values.subarray(0, rows * cols), scales.subarray(0, rows), cols);
}
