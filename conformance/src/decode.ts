import type { IndexInput } from '@embedding-layer/core';
import { Xoshiro128 } from '@embedding-layer/core/backend';
import type { FixtureInput, FixtureNumber } from './types.js';

/** Decodes `{ "$number": ... }` and `{ "$bigint": ... }` (what JSON cannot hold) and leaves everything else alone, recursively. */
export function decodeNumbers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeNumbers);
  if (typeof value === 'object' && value !== null) {
    if ('$number' in value) return Number((value as { $number: string }).$number);
    if ('$bigint' in value) return BigInt((value as { $bigint: string }).$bigint);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeNumbers(v)]));
  }
  return value;
}

/** A fixture number as a JS number. */
export function num(value: FixtureNumber): number {
  return typeof value === 'number' ? value : Number(value.$number);
}

/** Seeded random indices in [0, inputDim): floor(u * inputDim) with the core PRNG (the Python generator does the same). */
export function randomIndices(seed: number, count: number, inputDim: number): Int32Array {
  const rng = new Xoshiro128(seed);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(rng.nextFloat64() * inputDim);
  return out;
}

/** Builds the index input a fixture describes, with the typed array its dtype names. */
export function decodeInput(input: FixtureInput, inputDim: number): IndexInput {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    if ('random' in input) {
      const { seed, shape } = input.random;
      return {
        data: randomIndices(
          seed,
          shape.reduce((a, b) => a * b, 1),
          inputDim,
        ),
        shape,
      };
    }
    const { dtype, data, shape } = input;
    const values = data.map((v) => (typeof v === 'string' ? v : num(v)));
    switch (dtype) {
      case 'bigint64':
        return { data: BigInt64Array.from(values.map((v) => BigInt(v))), shape };
      case 'int32':
        return { data: Int32Array.from(values as number[]), shape };
      case 'uint32':
        return { data: Uint32Array.from(values as number[]), shape };
      case 'float32':
        return { data: Float32Array.from(values as number[]), shape };
      case 'float64':
        return { data: Float64Array.from(values as number[]), shape };
    }
  }
  return decodeNumbers(input) as IndexInput;
}

/** Flattens nested arrays of numbers (fixtures write tables and masks as rows). */
export function flatten(value: unknown): number[] {
  const out: number[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else out.push(num(v as FixtureNumber));
  };
  visit(value);
  return out;
}
