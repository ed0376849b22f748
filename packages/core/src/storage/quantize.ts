// float16 and int8 storage of embedding tables: the one codec every backend that offers
// quantized storage uses (adapter-js, adapter-onnx) and io reads and writes Keras 3's int8
// layout with, so that they all agree bit for bit with each other and with Keras.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE binary16 bits, round to nearest even (overflow to ±Infinity, NaN kept as a quiet NaN). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

let halfTable: Float32Array | null = null;

/** binary16 bits -> float32 value, for all 65,536 patterns (built once, 256 kB). */
export function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

/** A float32 table as float16 bits (into `out` when given). */
export function encodeHalf(weights: Float32Array, out: Uint16Array = new Uint16Array(weights.length)): Uint16Array {
  for (let i = 0; i < weights.length; i++) out[i] = toHalf(weights[i]!);
  return out;
}

/** float16 bits back to float32 (exact), into `out` when given. */
export function decodeHalf(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const t = halfToFloatTable();
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}

/** Keras's `backend.epsilon()` as float32, added to max|row| before the int8 scale is taken. */
export const INT8_EPSILON = Math.fround(1e-7);

/**
 * Keras 3's int8 quantization of one embedding row: `abs_max_quantize(row, axis=-1)`
 * (keras/src/quantizers/quantizers.py), every step in float32 as Keras computes it:
 *
 *     scale = 127 / (max|row| + 1e-7)
 *     q     = clip(round(row * scale), -127, 127)     (round half to even)
 *
 * and the stored value is read back as `q / scale`. Writes `d` int8 values from
 * `src[from..from+d)` to `dst[at..]` and returns the scale.
 *
 * Values Keras has no answer for (its max would be NaN or Infinity, and every value of the
 * row would be lost): NaN is stored as 0 and ±Infinity as ±127, with max|row| taken over the
 * finite values only, so the finite values of such a row keep the bound below.
 */
export function quantizeRowInt8(src: Float32Array, from: number, d: number, dst: Int8Array, at: number): number {
  let max = 0;
  for (let c = 0; c < d; c++) {
    const a = Math.abs(src[from + c]!);
    if (a > max && a !== Number.POSITIVE_INFINITY) max = a;
  }
  const scale = Math.fround(127 / Math.fround(max + INT8_EPSILON));
  for (let c = 0; c < d; c++) {
    const v = Math.fround(src[from + c]! * scale);
    let q = Math.round(v);
    if (q - v === 0.5 && (q & 1) !== 0) q -= 1; // half to even, as numpy and TF round
    dst[at + c] = q > 127 ? 127 : q < -127 ? -127 : Number.isNaN(q) ? 0 : q;
  }
  return scale;
}

/** A float32 table `[rows, d]` as int8 values and one float32 scale per row (Keras 3's `_embeddings` and `embeddings_scale`). */
export function encodeInt8(weights: Float32Array, rows: number, d: number): { values: Int8Array; scales: Float32Array } {
  const values = new Int8Array(rows * d);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) scales[r] = quantizeRowInt8(weights, r * d, d, values, r * d);
  return { values, scales };
}

/** int8 values and row scales back to float32, `q / scale` rounded once to float32, as Keras's quantized Embedding computes it (into `out` when given). */
export function decodeInt8(
  values: Int8Array,
  scales: Float32Array,
  d: number,
  out: Float32Array = new Float32Array(values.length),
): Float32Array {
  for (let r = 0; r < scales.length; r++) {
    const scale = scales[r]!;
    for (let c = 0; c < d; c++) out[r * d + c] = values[r * d + c]! / scale;
  }
  return out;
}

/**
 * Keras 3's per-channel int4 quantization of one embedding row: `abs_max_quantize(row, axis=-1,
 * value_range=(-8, 7))` as `Embedding.quantize('int4')` applies it with a per-row scale
 * (`Int4QuantizationConfig(block_size=None)`; keras/src/quantizers/quantizers.py), every step in
 * float32 as NumPy computes it:
 *
 *     scale = 7 / (max|row| + 1e-7)
 *     q     = clip(round(row * scale), -8, 7)     (round half to even)
 *
 * read back as `q / scale`. Writes `d` values in [-8, 7] (one per Int8Array element, unpacked)
 * from `src[from..from+d)` to `dst[at..]` and returns the scale. NaN is stored as 0, +Infinity as 7
 * and -Infinity as -8 (clipped), max|row| taken over the finite values, as {@link quantizeRowInt8} does.
 */
export function quantizeRowInt4(src: Float32Array, from: number, d: number, dst: Int8Array, at: number): number {
  let max = 0;
  for (let c = 0; c < d; c++) {
    const a = Math.abs(src[from + c]!);
    if (a > max && a !== Number.POSITIVE_INFINITY) max = a;
  }
  const scale = Math.fround(7 / Math.fround(max + INT8_EPSILON));
  for (let c = 0; c < d; c++) {
    const v = Math.fround(src[from + c]! * scale);
    let q = Math.round(v);
    if (q - v === 0.5 && (q & 1) !== 0) q -= 1; // half to even, as numpy rounds
    dst[at + c] = q > 7 ? 7 : q < -8 ? -8 : Number.isNaN(q) ? 0 : q;
  }
  return scale;
}

/** Bytes of one packed int4 row of `d` values: Keras 3's `(output_dim + 1) // 2`. */
export function int4RowBytes(d: number): number {
  return (d + 1) >> 1;
}

/**
 * Keras 3's `pack_int4(values, axis=-1)` of one row: value `2k` in the low nibble and value
 * `2k + 1` in the high nibble of byte `k` (two's complement nibbles; an odd row is padded with a
 * 0 nibble), the byte kept as int8. Reads `d` values in [-8, 7] from `src[from..]` and writes
 * {@link int4RowBytes}(d) bytes to `dst[at..]`.
 */
export function packInt4Row(src: Int8Array, from: number, d: number, dst: Int8Array, at: number): void {
  for (let k = 0; 2 * k < d; k++) {
    const low = src[from + 2 * k]! & 0x0f;
    const high = 2 * k + 1 < d ? src[from + 2 * k + 1]! & 0x0f : 0;
    dst[at + k] = (((high << 4) | low) << 24) >> 24;
  }
}

/** The int4 value of nibble `c` of a packed row (Keras 3's `unpack_int4`: `(nibble ^ 8) - 8`). */
export function int4At(packed: Int8Array, at: number, c: number): number {
  const byte = packed[at + (c >> 1)]!;
  const nibble = c & 1 ? (byte >> 4) & 0x0f : byte & 0x0f;
  return (nibble ^ 8) - 8;
}

/**
 * A float32 table `[rows, d]` in Keras 3's per-channel int4 layout: `packed` is the `embeddings`
 * variable (int8, `[rows, ceil(d / 2)]`, {@link packInt4Row}), `scales` the `embeddings_scale`
 * variable (float32, one per row).
 */
export function encodeInt4(weights: Float32Array, rows: number, d: number): { packed: Int8Array; scales: Float32Array } {
  const bytes = int4RowBytes(d);
  const packed = new Int8Array(rows * bytes);
  const scales = new Float32Array(rows);
  const row = new Int8Array(d);
  for (let r = 0; r < rows; r++) {
    scales[r] = quantizeRowInt4(weights, r * d, d, row, 0);
    packInt4Row(row, 0, d, packed, r * bytes);
  }
  return { packed, scales };
}

/**
 * Packed int4 rows and their scales back to float32: `unpack_int4(q) / scale`, rounded once to
 * float32, as Keras's `_int4_call` computes a lookup (into `out` when given).
 */
export function decodeInt4(
  packed: Int8Array,
  scales: Float32Array,
  d: number,
  out: Float32Array = new Float32Array(scales.length * d),
): Float32Array {
  const bytes = int4RowBytes(d);
  for (let r = 0; r < scales.length; r++) {
    const scale = scales[r]!;
    for (let c = 0; c < d; c++) out[r * d + c] = int4At(packed, r * bytes, c) / scale;
  }
  return out;
}
