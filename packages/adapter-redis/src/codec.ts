import { decodeHalf, encodeHalf, quantizeRowInt8 } from '@embedding-layer/core/backend';

/** How rows are stored in Redis: float32, float16 (IEEE half) or int8 (Keras 3's per-row abs-max, with the float32 scale in front). */
export type RedisStorage = 'float32' | 'float16' | 'int8';

/** Bytes of one stored row of `d` values. @internal */
export function rowBytes(storage: RedisStorage, d: number): number {
  return storage === 'float32' ? d * 4 : storage === 'float16' ? d * 2 : 4 + d;
}

/**
 * Encodes `count` rows of `values` (row-major, `d` per row) into one buffer; row k is
 * `buf.subarray(k * rb, (k + 1) * rb)`. Little-endian, as the server functions read them.
 *
 * @internal
 */
export function encodeRows(values: Float32Array, count: number, d: number, storage: RedisStorage): Buffer {
  const rb = rowBytes(storage, d);
  if (storage === 'float32') {
    return Buffer.from(values.buffer, values.byteOffset, count * rb);
  }
  if (storage === 'float16') {
    const bits = encodeHalf(values.subarray(0, count * d));
    return Buffer.from(bits.buffer, bits.byteOffset, count * rb);
  }
  const out = Buffer.alloc(count * rb);
  const q = new Int8Array(out.buffer, out.byteOffset, out.length);
  for (let r = 0; r < count; r++) {
    const scale = quantizeRowInt8(values, r * d, d, q, r * rb + 4);
    out.writeFloatLE(scale, r * rb);
  }
  return out;
}

/**
 * Decodes one stored row into `out[at .. at + d)`. `bytes` is exactly one row (checked by the caller).
 *
 * @internal
 */
export function decodeRow(bytes: Uint8Array, d: number, storage: RedisStorage, out: Float32Array, at: number): void {
  if (storage === 'float32') {
    new Uint8Array(out.buffer, out.byteOffset + at * 4, d * 4).set(bytes);
  } else if (storage === 'float16') {
    const bits = new Uint16Array(d);
    new Uint8Array(bits.buffer).set(bytes);
    decodeHalf(bits, out.subarray(at, at + d));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const scale = view.getFloat32(0, true);
    for (let c = 0; c < d; c++) out[at + c] = view.getInt8(4 + c) / scale;
  }
}
