/**
 * The documented pseudo-random generator behind every seeded initializer.
 *
 * Generator: xoshiro128** (Blackman and Vigna), 128-bit state, 32-bit outputs.
 * Seeding: a seed is an integer in [0, 2^53). Its low 32 bits `lo` and high bits `hi` feed
 * SplitMix32 (state += 0x9E3779B9; z = (z ^ z>>>16) * 0x85EBCA6B; z = (z ^ z>>>13) * 0xC2B2AE35;
 * z ^= z>>>16): the state starts at `lo`, gives words s0 and s1, is XORed with `hi`, and gives
 * s2 and s3.
 * Doubles: `nextFloat64()` = ((a >>> 5) * 2^26 + (b >>> 6)) / 2^53 from two outputs a, b:
 * uniform on [0, 1) with 53 random bits (the same construction as NumPy's `random_sample`).
 *
 * Only integer ops and exactly-rounded IEEE arithmetic are used, so one seed gives the same
 * numbers on every JavaScript engine. `Math.random` is never used.
 */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x100000000) >>> 0;
    let state = lo | 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    state ^= hi;
    this.s2 = next();
    this.s3 = next();
  }

  /** Next 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat64(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * Standard normal deviate by Marsaglia's polar method, using {@link deterministicLog} so the
   * result is the same on every engine.
   */
  nextNormal(): number {
    for (;;) {
      const u = 2 * this.nextFloat64() - 1;
      const v = 2 * this.nextFloat64() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) return u * Math.sqrt((-2 * deterministicLog(s)) / s);
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2 = Math.LN2;
const SQRT2 = Math.SQRT2;

/**
 * Natural logarithm of a positive finite number from exactly-rounded operations only
 * (range reduction by powers of two, then a fixed 2*atanh series), so its bits do not depend
 * on the engine's `Math.log`. Agrees with `Math.log` to about 1e-16 relative.
 */
export function deterministicLog(x: number): number {
  let e = 0;
  let m = x;
  while (m >= SQRT2) {
    m *= 0.5;
    e++;
  }
  while (m < SQRT2 / 2) {
    m *= 2;
    e--;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  // |t| <= 0.1716; 15 odd terms reach below 1e-22.
  let sum = 0;
  let power = t;
  for (let k = 1; k <= 29; k += 2) {
    sum += power / k;
    power *= t2;
  }
  return e * LN2 + 2 * sum;
}

/** A fresh seed from the platform's cryptographic generator (never `Math.random`). */
export function freshSeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0]! & 0x1fffff) * 0x100000000 + words[1]!;
}
