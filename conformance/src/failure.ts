/** A backend disagreed with a conformance case. The message says what was expected and what came. */
export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceFailure';
  }
}

/** Throws a ConformanceFailure unless `condition`. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new ConformanceFailure(typeof message === 'function' ? message() : message);
}

function same(a: number, b: number, tolerance: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (tolerance === 0) return Object.is(a, b) || (a === 0 && b === 0);
  return Math.abs(a - b) <= tolerance;
}

/** Compares float arrays (bitwise when tolerance is 0); the failure names the first differing position and the count. */
export function checkFloats(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 0): void {
  check(actual.length === expected.length, () => `${what}: expected ${expected.length} values, received ${actual.length}.`);
  let first = -1;
  let count = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    if (!same(actual[i]!, expected[i]!, tolerance)) {
      if (first < 0) first = i;
      count++;
      worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    }
  }
  check(
    first < 0,
    () =>
      `${what}: ${count} of ${expected.length} values differ (max |diff| ${worst}); first at flat index ${first}: expected ${expected[first]}, received ${actual[first]}.`,
  );
}

/** Compares shapes exactly. */
export function checkShape(what: string, actual: readonly (number | null)[], expected: readonly (number | null)[]): void {
  check(
    actual.length === expected.length && actual.every((d, i) => d === expected[i]),
    () => `${what}: expected shape [${expected.join(', ')}], received [${actual.join(', ')}].`,
  );
}
