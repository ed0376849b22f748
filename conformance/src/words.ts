/**
 * Deterministic pseudo-random 32-bit words (xorshift32 from `seed`; seed 0 counts as 1): every
 * bit pattern is possible, so viewed as float32 they include NaN payloads, negative zero,
 * denormals and infinities. For tests that check a backend moves a table's bits exactly, and for
 * seeded indices (`words[i] % inputDim`).
 */
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
