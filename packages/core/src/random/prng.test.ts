import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deterministicLog, freshSeed, Xoshiro128 } from './prng.js';

describe('Xoshiro128', () => {
  it('is reproducible for a seed and uses the high bits of seeds past 2^32', () => {
    const a = new Xoshiro128(2 ** 40 + 5);
    const b = new Xoshiro128(2 ** 40 + 5);
    const c = new Xoshiro128(5);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('gives doubles in [0, 1) with mean 1/2 and variance 1/12', () => {
    const rng = new Xoshiro128(1);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat64();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      sq += u * u;
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sq / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  it('gives standard normal deviates', () => {
    const rng = new Xoshiro128(2);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.nextNormal();
      sum += z;
      sq += z * z;
      if (Math.abs(z) > 2) beyond2++;
    }
    expect(Math.abs(sum / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.02);
    // P(|Z| > 2) = 0.0455
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.004);
  });

  it('rejects seeds that are not integers in [0, 2^53)', () => {
    expect(() => new Xoshiro128(-1)).toThrow(RangeError);
    expect(() => new Xoshiro128(1.5)).toThrow(RangeError);
  });

  it('freshSeed gives valid, varying seeds', () => {
    const seeds = new Set(Array.from({ length: 20 }, freshSeed));
    expect(seeds.size).toBe(20);
    for (const s of seeds) expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
  });
});

describe('deterministicLog', () => {
  it('agrees with Math.log to a few ulps over (0, 1] and beyond', () => {
    fc.assert(
      fc.property(fc.double({ min: 2 ** -60, max: 1e6, noNaN: true }), (x) => {
        const want = Math.log(x);
        const got = deterministicLog(x);
        return Math.abs(got - want) <= 4 * Number.EPSILON * Math.max(1, Math.abs(want));
      }),
      { numRuns: 2000 },
    );
    expect(deterministicLog(1)).toBe(0);
  });
});
