const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The bytes of a float32 table as ONNX stores them (`raw_data` and external data files are
 * little-endian). On a little-endian host (x64, arm64) this is a view of `weights`, no copy;
 * on a big-endian host it is a byte-swapped copy.
 */
export function tableBytes(weights: Float32Array): Uint8Array {
  const view = new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return view;
  const out = new Uint8Array(view.length);
  for (let i = 0; i < view.length; i += 4) {
    out[i] = view[i + 3]!;
    out[i + 1] = view[i + 2]!;
    out[i + 2] = view[i + 1]!;
    out[i + 3] = view[i]!;
  }
  return out;
}
