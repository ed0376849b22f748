// float16 and int8 storage of embedding tables: the encoders and decoders every backend that
// offers quantized storage uses, so that they agree bit for bit (semantics live in core).

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

/** A float32 table as float16 bits. */
export function encodeHalf(weights: Float32Array): Uint16Array {
  const out = new Uint16Array(weights.length);
  for (let i = 0; i < weights.length; i++) out[i] = toHalf(weights[i]!);
  return out;
}

/** float16 bits back to float32 (exact). */
export function decodeHalf(bits: Uint16Array): Float32Array {
  const t = halfToFloatTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}

/**
 * Keras 3's int8 embedding quantization of one row (`abs_max_quantize` along the row):
 * scale = 127 / max|row| (float32), q = round(w * scale) (half to even) clipped to
 * [-127, 127], dequantized value = q / scale. An all-zero row gets scale 1. NaN is stored as
 * 0 and ±Infinity as ±127 (max|row| is taken over the finite values). Returns the scale.
 */
export function quantizeRowInt8(src: Float32Array, from: number, d: number, dst: Int8Array, at: number): number {
  let max = 0;
  for (let c = 0; c < d; c++) {
    const a = Math.abs(src[from + c]!);
    if (a > max && a !== Number.POSITIVE_INFINITY) max = a;
  }
  const scale = max > 0 ? Math.fround(127 / max) : 1;
  for (let c = 0; c < d; c++) {
    const v = src[from + c]! * scale;
    let q = Math.round(v);
    if (q - v === 0.5 && (q & 1) !== 0) q -= 1; // half to even, as numpy and TF round
    dst[at + c] = q > 127 ? 127 : q < -127 ? -127 : Number.isNaN(q) ? 0 : q;
  }
  return scale;
}

/** A float32 table `[rows, d]` as int8 values and one float32 scale per row. */
export function encodeInt8(weights: Float32Array, rows: number, d: number): { values: Int8Array; scales: Float32Array } {
  const values = new Int8Array(rows * d);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) scales[r] = quantizeRowInt8(weights, r * d, d, values, r * d);
  return { values, scales };
}

/** int8 values and row scales back to float32: `q / scale`, rounded once to float32. */
export function decodeInt8(values: Int8Array, scales: Float32Array, d: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < scales.length; r++) {
    const scale = scales[r]!;
    for (let c = 0; c < d; c++) out[r * d + c] = values[r * d + c]! / scale;
  }
  return out;
}
