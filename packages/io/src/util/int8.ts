/*
 * Keras 3's int8 Embedding quantization (keras/src/quantizers/quantizers.py `abs_max_quantize`,
 * as `Embedding.quantize('int8')` calls it with axis=-1): per row,
 *   scale = 127 / (max|row| + epsilon)          (epsilon = backend.epsilon() = 1e-7)
 *   q     = clip(round(row * scale), -127, 127)  (round half to even, as ops.round)
 * stored as int8 `_embeddings` (input_dim, output_dim) and float32 `embeddings_scale`
 * (input_dim,); dequantized as q / scale[row]. Every step is in float32, as Keras computes it.
 *
 * Error bound: |w - q / scale| <= 0.5 / scale = (max|row| + 1e-7) / 254, plus float32 rounding
 * of the product and the quotient (relative 2^-24 each), i.e. under (max|row| + 1e-7) / 254 *
 * (1 + 2^-20) + 2^-24 |w|.
 */

const EPSILON = Math.fround(1e-7);

/** Round half to even (NumPy's / Keras's `round`). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** @internal Keras 3's int8 per-row abs-max quantization of a row-major (rows, cols) matrix. */
export function quantizeInt8(weights: Float32Array, rows: number, cols: number): { values: Int8Array; scales: Float32Array } {
  const values = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = 0;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(weights[base + c]!);
      if (a > max || Number.isNaN(a)) max = a;
    }
    const scale = Math.fround(127 / Math.fround(max + EPSILON));
    scales[r] = scale;
    for (let c = 0; c < cols; c++) {
      const q = roundHalfEven(Math.fround(weights[base + c]! * scale));
      values[base + c] = Number.isNaN(q) ? 0 : Math.max(-127, Math.min(127, q));
    }
  }
  return { values, scales };
}

/** @internal Keras 3's int8 dequantization: `w[r, c] = q[r, c] / scale[r]`, in float32. */
export function dequantizeInt8(values: Int8Array, scales: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = scales[r]!;
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[base + c] = values[base + c]! / s;
  }
  return out;
}
