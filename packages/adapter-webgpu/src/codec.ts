import { halfToFloatTable, quantizeRowInt8, toHalf } from '@embedding-layer/core/backend';
import type { TableLayout } from './layout.js';

/**
 * Rows of row-major float32 `values` as the words a table stores (see {@link TableLayout}),
 * encoded with core's codec (`toHalf`, `quantizeRowInt8`), so a stored row has the same bits
 * as on every other backend.
 */
export function encodeRows(layout: TableLayout, values: Float32Array): Uint32Array {
  const d = layout.outputDim;
  const count = d === 0 ? 0 : values.length / d;
  if (layout.storage === 'float32') return new Uint32Array(values.buffer, values.byteOffset, values.length);
  const w = layout.rowWords;
  const words = new Uint32Array(count * w);
  if (layout.storage === 'float16') {
    const halves = new Uint16Array(words.buffer);
    for (let r = 0; r < count; r++) {
      for (let c = 0; c < d; c++) halves[r * w * 2 + c] = toHalf(values[r * d + c]!);
    }
    return words;
  }
  const bytes = new Int8Array(words.buffer);
  const scales = new Float32Array(words.buffer);
  for (let r = 0; r < count; r++) scales[r * w] = quantizeRowInt8(values, r * d, d, bytes, r * w * 4 + 4);
  return words;
}

/** Stored words of `count` rows back to row-major float32, as core's codec decodes them (`q / scale` for int8). */
export function decodeRows(layout: TableLayout, words: Uint32Array, count: number): Float32Array {
  const d = layout.outputDim;
  const w = layout.rowWords;
  if (layout.storage === 'float32') return new Float32Array(words.buffer, words.byteOffset, count * d).slice();
  const out = new Float32Array(count * d);
  if (layout.storage === 'float16') {
    const t = halfToFloatTable();
    const halves = new Uint16Array(words.buffer, words.byteOffset, words.length * 2);
    for (let r = 0; r < count; r++) {
      for (let c = 0; c < d; c++) out[r * d + c] = t[halves[r * w * 2 + c]!]!;
    }
    return out;
  }
  const bytes = new Int8Array(words.buffer, words.byteOffset, words.length * 4);
  const scales = new Float32Array(words.buffer, words.byteOffset, words.length);
  for (let r = 0; r < count; r++) {
    const scale = scales[r * w]!;
    for (let c = 0; c < d; c++) out[r * d + c] = bytes[r * w * 4 + 4 + c]! / scale;
  }
  return out;
}
