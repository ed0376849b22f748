import { halfToFloatTable, toHalf } from '@embedding-layer/core/backend';

// float16 encoding and decoding are core's (shared with the adapters' float16 storage).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** @internal bfloat16 bits to a float (exact). */
export function bfloat16ToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}

/** @internal A float32 value to bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** @internal Decodes little-endian binary16 bytes into float32. */
export function decodeHalf(bytes: Uint8Array, count: number, littleEndian = true): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const table = halfToFloatTable();
  for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, littleEndian)]!;
  return out;
}

/** @internal Decodes little-endian bfloat16 bytes into float32. */
export function decodeBfloat16(bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
  return out;
}

/** @internal Decodes float32 bytes (any alignment, either endianness) into a fresh Float32Array. */
export function decodeFloat32(bytes: Uint8Array, count: number, littleEndian = true): Float32Array {
  if (littleEndian && bytes.byteOffset % 4 === 0)
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * 4));
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (littleEndian) new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
  else for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, false);
  return out;
}

/**
 * @internal float32 values of little-endian bytes that nothing else holds (a buffer read for
 * this): a view of them, no copy, when they fill their own aligned buffer; else a copy.
 */
export function ownedFloat32(bytes: Uint8Array, count: number): Float32Array {
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset === 0 && bytes.byteLength === count * 4 && bytes.buffer.byteLength === bytes.byteLength)
    return new Float32Array(bytes.buffer, 0, count);
  return decodeFloat32(bytes, count);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** @internal Decodes float64 bytes into float32 (rounded to nearest, as NumPy's astype(float32)). */
export function decodeFloat64(bytes: Uint8Array, count: number, littleEndian = true): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, littleEndian);
  return out;
}

/** @internal Little-endian bytes of a float32 array (a view when possible, no copy). */
export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** @internal Encodes float32 values as little-endian binary16 bytes. */
export function encodeHalf(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalf(values[i]!);
  return new Uint8Array(out.buffer);
}

/** @internal Encodes float32 values as little-endian bfloat16 bytes. */
export function encodeBfloat16(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToBfloat16(values[i]!);
  return new Uint8Array(out.buffer);
}

/** The float element types tables are stored in that every reader decodes the same way. */
export type FloatStored = 'float32' | 'float16' | 'bfloat16' | 'float64';

/**
 * @internal The decoder of little-endian values of `stored` into float32. `owned`: the bytes
 * were read for this and nothing else holds them, so float32 is a view of them, not a copy.
 */
export function floatDecoder(stored: FloatStored, owned = false): (bytes: Uint8Array, count: number) => Float32Array {
  if (stored === 'float32') return owned ? ownedFloat32 : decodeFloat32;
  return stored === 'float16' ? decodeHalf : stored === 'bfloat16' ? decodeBfloat16 : decodeFloat64;
}
