import { appliedOptimizer, type BackendCapabilitiesV2, type OptimizerIdentifier, type StorageBound } from '@embedding-layer/core';
import { check } from './failure.js';

/**
 * The error a backend may make on a value of a row, from its declared storage (`supports.storage.bound`:
 * `relative * max|row| + absolute`), plus the caller's extra absolute slack. float32 storage
 * declares `{ 0, 0 }`: every comparison is then bit for bit.
 */
export function storageBound(supports: BackendCapabilitiesV2, slack = 0): StorageBound {
  const { relative, absolute } = supports.storage.bound;
  return { relative, absolute: absolute + slack };
}

/**
 * The relative tolerance of weights and losses after `steps` training steps: the caller's
 * `base` (core's float32 against the float64 reference), plus `steps x relativeError` of the
 * entry of `supports.optimizers` that applies `optimizer` on the backend (its own arithmetic,
 * e.g. Lua's float64 on a float32 gradient), when the backend declares one.
 */
export function trainingTolerance(supports: BackendCapabilitiesV2, optimizer: unknown, steps: number, base: number): number {
  const entry = appliedOptimizer(supports, optimizer as OptimizerIdentifier);
  return base + (entry ? steps * entry.relativeError : 0);
}

/** Whether the storage reads back exactly what was written (no tolerance anywhere). */
export function isExact(bound: StorageBound): boolean {
  return bound.relative === 0 && bound.absolute === 0;
}

/** The largest finite |value| of each row of a row-major table (0 for a row with none). */
export function rowMaxes(table: ArrayLike<number>, rows: number, d: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < d; c++) {
      const a = Math.abs(table[r * d + c]!);
      if (a > max && a !== Number.POSITIVE_INFINITY) max = a;
    }
    out[r] = max;
  }
  return out;
}

/** The tolerance of each value of `values` (row-major, `d` wide) whose rows came from table rows `rows` (one per output row). */
export function toleranceOf(bound: StorageBound, maxes: ArrayLike<number>, rows: ArrayLike<number>, d: number): (i: number) => number {
  return (i) => bound.relative * maxes[rows[Math.floor(i / Math.max(1, d))]!]! + bound.absolute;
}

function sameBits(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Object.is(a, b) || (a === 0 && b === 0);
}

/**
 * Compares float arrays value by value: exactly where the tolerance is 0, else within
 * `tolerance(i)` (NaN only matches NaN, ±Infinity only itself). The failure names the first
 * differing position, the count and the worst excess over the tolerance.
 */
export function checkWithin(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: (i: number) => number): void {
  check(actual.length === expected.length, () => `${what}: expected ${expected.length} values, received ${actual.length}.`);
  let first = -1;
  let count = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const t = tolerance(i);
    const ok = t === 0 || !Number.isFinite(e) || !Number.isFinite(a) ? sameBits(a, e) : Math.abs(a - e) <= t;
    if (!ok) {
      if (first < 0) first = i;
      count++;
      worst = Math.max(worst, Math.abs(a - e) - t);
    }
  }
  check(
    first < 0,
    () =>
      `${what}: ${count} of ${expected.length} values differ by more than the storage bound (worst by ${worst} over it); first at flat index ${first}: expected ${expected[first]} (+- ${tolerance(first)}), received ${actual[first]}.`,
  );
}
