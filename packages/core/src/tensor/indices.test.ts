import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidIndexError } from '../errors/invalid-index-error.js';
import { ShapeMismatchError } from '../errors/shape-mismatch-error.js';
import { toIndexTensor, unravelIndex } from './indices.js';

describe('toIndexTensor', () => {
  it('uses a valid Int32Array without copying it', () => {
    const data = new Int32Array([1, 2, 3, 4]);
    expect(toIndexTensor({ data, shape: [2, 2] }, 5).data).toBe(data);
  });

  it('names the value, its position and input_dim', () => {
    try {
      toIndexTensor(
        [
          [1, 2],
          [3, 1000],
        ],
        1000,
      );
      throw new Error('expected an error');
    } catch (error) {
      expect(InvalidIndexError.isInstance(error)).toBe(true);
      const e = error as InvalidIndexError;
      expect(e.position).toEqual([1, 1]);
      expect(e.value).toBe(1000);
      expect(e.inputDim).toBe(1000);
      expect(e.message).toMatch(/indices\[1,1\] = 1000 .*\[0, 1000\)/);
    }
  });

  it('an Int32Array: the first bad value is named, wherever it sits and whatever else is bad after it', () => {
    // Lengths around the 4-at-a-time check, each bad value at each position, a second one after it.
    for (let n = 1; n <= 13; n++) {
      for (let at = 0; at < n; at++) {
        for (const bad of [-1, 7, 2 ** 31 - 1, -(2 ** 31)]) {
          const data = Int32Array.from({ length: n }, (_, i) => i % 7);
          data[at] = bad;
          if (at + 1 < n) data[n - 1] = -5;
          let error: unknown = null;
          try {
            toIndexTensor({ data, shape: [n] }, 7, (length) => new Int32Array(length));
          } catch (caught) {
            error = caught;
          }
          expect((error as InvalidIndexError).position, `n ${n}, ${bad} at ${at}`).toEqual([at]);
          expect((error as InvalidIndexError).value).toBe(bad);
        }
      }
      // All valid (0..6, and the largest row): accepted, values kept.
      const ok = Int32Array.from({ length: n }, (_, i) => (i === n - 1 ? 6 : i % 7));
      expect(Array.from(toIndexTensor({ data: ok, shape: [n] }, 7, (length) => new Int32Array(length)).data)).toEqual(Array.from(ok));
    }
  });

  it('shows bigint values as bigints', () => {
    expect(() => toIndexTensor({ data: new BigInt64Array([-1n]), shape: [1] }, 3)).toThrow(/indices\[0\] = -1n/);
  });

  it('says where nested arrays are ragged', () => {
    expect(() => toIndexTensor([[1, 2], [3]], 5)).toThrow(ShapeMismatchError);
    expect(() => toIndexTensor([[1, 2], [3]], 5)).toThrow(/indices\[1\] expected an array of length 2.*length 1/);
  });

  it('flattens any rectangular nesting row-major (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.array(fc.integer({ min: 0, max: 49 }), {
              minLength: shape.reduce((a, b) => a * b),
              maxLength: shape.reduce((a, b) => a * b),
            }),
          ),
        ),
        ([shape, flat]) => {
          const nest = (offset: number, dims: number[]): unknown =>
            dims.length === 1
              ? flat.slice(offset, offset + dims[0]!)
              : Array.from({ length: dims[0]! }, (_, i) => nest(offset + i * dims.slice(1).reduce((a, b) => a * b), dims.slice(1)));
          const t = toIndexTensor(nest(0, shape) as number[], 50);
          expect(t.shape).toEqual(shape);
          expect(Array.from(t.data)).toEqual(flat);
          const k = flat.length - 1;
          const pos = unravelIndex(k, shape);
          expect(pos.reduce((acc, p, d) => acc * shape[d]! + p, 0)).toBe(k);
        },
      ),
      { numRuns: 300 },
    );
  });
});
