// Test helpers for core's own tests (not exported from the package): random 32-bit words.

/** xorshift32 words: every 32-bit pattern is possible (NaN payloads, negative zero, denormals). */
export function randomWords(seed: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s >>> 0;
  }
  return out;
}
