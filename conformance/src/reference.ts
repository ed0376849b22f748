import type { IndexTensor } from '@embedding-layer/core';

/**
 * The reference lookup, written independently of every backend: a float64 gather, element by
 * element, rounded to float32 once. Backends must agree with it bit for bit.
 */
export function referenceLookup(table: ArrayLike<number>, indices: IndexTensor, outputDim: number): Float32Array {
  const values = new Float64Array(indices.data.length * outputDim);
  for (let i = 0; i < indices.data.length; i++) {
    const row = indices.data[i]!;
    for (let c = 0; c < outputDim; c++) values[i * outputDim + c] = table[row * outputDim + c]!;
  }
  return Float32Array.from(values);
}

/** FNV-1a (32-bit) over the little-endian bytes of a Float32Array, as the fixture generator computes it. */
export function fnv1a(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The big-endian hex of a float32's bits, as fixtures write them. */
export function float32Hex(value: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  return view.getUint32(0).toString(16).padStart(8, '0');
}
