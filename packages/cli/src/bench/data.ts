/** xorshift32 step; never returns 0 for a non-zero state. */
function xorshift(state: number): number {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** A deterministic table of `length` floats in [-0.05, 0.05) (Keras's uniform initializer range); fast enough for 1 GB. */
export function benchTable(length: number, seed = 42): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s = xorshift(s);
    out[i] = (s / 4294967296) * 0.1 - 0.05;
  }
  return out;
}

/** Deterministic indices in [0, inputDim). */
export function benchIndices(count: number, inputDim: number, seed = 7): Int32Array {
  const out = new Int32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = xorshift(s);
    out[i] = Math.floor((s / 4294967296) * inputDim);
  }
  return out;
}

/**
 * Checks up to `rows` evenly spread output rows against the table rows their indices name,
 * bit for bit (NaN-safe), so that a fast but wrong target is flagged.
 */
export function agreesWithTable(
  output: ArrayLike<number>,
  table: Float32Array,
  indices: Int32Array,
  outputDim: number,
  rows = 1024,
): boolean {
  if (output.length !== indices.length * outputDim) return false;
  const step = Math.max(1, Math.floor(indices.length / rows));
  for (let i = 0; i < indices.length; i += step) {
    const src = indices[i]! * outputDim;
    const dst = i * outputDim;
    for (let j = 0; j < outputDim; j++) if (!Object.is(output[dst + j], table[src + j])) return false;
  }
  return true;
}
