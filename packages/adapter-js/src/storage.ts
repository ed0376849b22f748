/** How a sharded table stores its values. */
export type Storage = 'float32' | 'float16' | 'int8';

/** Bytes per stored value. */
export const STORAGE_BYTES: Record<Storage, number> = { float32: 4, float16: 2, int8: 1 };

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

/**
 * Keras 3's int8 embedding quantization of one row (`abs_max_quantize` along the row):
 * scale = 127 / max|row| (float32), q = round(w * scale) clipped to [-127, 127],
 * dequantized value = q / scale. An all-zero row gets scale 1 (Keras adds epsilon 1e-7
 * to max|row| instead; both give q = 0). NaN is stored as 0 and ±Infinity as ±127 (the
 * row's largest finite magnitude). Returns the float32 scale.
 */
export function quantizeRowInt8(src: Float32Array, from: number, d: number, dst: Int8Array, at: number): number {
  // max over the finite values: NaN is stored as 0 and ±Infinity saturates to ±max.
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
