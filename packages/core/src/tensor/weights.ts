import { describeValue } from '../errors/describe-value.js';
import { InvalidWeightsError } from '../errors/invalid-weights-error.js';

/** One weight matrix as accepted by `setWeights`: a flat row-major array, or rows of numbers, or `{ data, shape }`. */
export type WeightInput =
  | Float32Array
  | Float64Array
  | readonly number[]
  | readonly (readonly number[])[]
  | { readonly data: Float32Array | Float64Array | readonly number[]; readonly shape: readonly number[] };

/** A checked weight matrix: copies any range of its rows as fresh float32. */
export interface CheckedWeights {
  /** Rows [start, start + count) as a fresh row-major Float32Array. */
  copyRows(start: number, count: number): Float32Array;
}

/**
 * Checks a `setWeights` argument (a list of exactly one (inputDim, outputDim) matrix, as
 * Keras's `set_weights`) completely, without copying it, and returns a reader of its rows.
 * NaN and Infinity are accepted, as in Keras. Messages show a bounded summary of what was
 * received (type, length, first values), never the whole array.
 */
export function checkWeights(weights: unknown, inputDim: number, outputDim: number, what = 'setWeights'): CheckedWeights {
  const size = inputDim * outputDim;
  const expected = `a list of one (${inputDim}, ${outputDim}) matrix: [Float32Array(${size})] or [rows]`;
  if (!Array.isArray(weights) || weights.length !== 1) {
    throw new InvalidWeightsError(
      `${what} expected ${expected}, received ${Array.isArray(weights) ? `a list of ${weights.length} arrays` : describeValue(weights)}.`,
    );
  }
  return checkMatrix(weights[0] as unknown, inputDim, outputDim, what, expected);
}

function checkMatrix(w: unknown, inputDim: number, outputDim: number, what: string, expected: string): CheckedWeights {
  const size = inputDim * outputDim;
  const d = outputDim;
  if (w instanceof Float32Array || w instanceof Float64Array) {
    if (w.length !== size)
      throw new InvalidWeightsError(`${what} expected ${size} values (${inputDim} x ${outputDim}), received ${w.length}.`);
    // slice() and the typed-array constructor copy natively; Float32Array.from would go through the iterator.
    return {
      copyRows: (start, count) =>
        w instanceof Float32Array ? w.slice(start * d, (start + count) * d) : new Float32Array(w.subarray(start * d, (start + count) * d)),
    };
  }
  if (typeof w === 'object' && w !== null && !Array.isArray(w) && 'data' in w && 'shape' in w) {
    const { data, shape } = w as { data: unknown; shape: unknown };
    if (!Array.isArray(shape) || shape.length !== 2 || shape[0] !== inputDim || shape[1] !== outputDim) {
      throw new InvalidWeightsError(`${what} expected shape [${inputDim}, ${outputDim}], received ${describeValue(shape)}.`);
    }
    return checkMatrix(data, inputDim, outputDim, what, expected);
  }
  if (Array.isArray(w)) {
    const nested = w.length > 0 && Array.isArray(w[0]);
    if (nested) {
      if (w.length !== inputDim) throw new InvalidWeightsError(`${what} expected ${inputDim} rows, received ${w.length}.`);
      for (let r = 0; r < inputDim; r++) {
        const row = w[r] as unknown;
        if (!Array.isArray(row) || row.length !== outputDim) {
          throw new InvalidWeightsError(`${what} expected row ${r} to hold ${outputDim} numbers, received ${describeValue(row)}.`);
        }
        for (let c = 0; c < outputDim; c++) {
          const v = row[c];
          if (typeof v !== 'number')
            throw new InvalidWeightsError(`${what} expected a number at [${r}, ${c}], received ${describeValue(v)}.`);
        }
      }
      return {
        copyRows(start, count) {
          const out = new Float32Array(count * d);
          for (let r = 0; r < count; r++) {
            const row = w[start + r] as number[];
            for (let c = 0; c < d; c++) out[r * d + c] = row[c]!;
          }
          return out;
        },
      };
    }
    if (w.length !== size)
      throw new InvalidWeightsError(`${what} expected ${size} values (${inputDim} x ${outputDim}), received ${w.length}.`);
    for (let i = 0; i < size; i++) {
      const v = w[i];
      if (typeof v !== 'number')
        throw new InvalidWeightsError(`${what} expected a number at flat position ${i}, received ${describeValue(v)}.`);
    }
    return {
      copyRows(start, count) {
        const out = new Float32Array(count * d);
        for (let i = 0, j = start * d; i < out.length; i++, j++) out[i] = w[j] as number;
        return out;
      },
    };
  }
  throw new InvalidWeightsError(`${what} expected ${expected}, received ${describeValue(w)}.`);
}

/**
 * Checks a `setWeights` argument and returns a fresh row-major Float32Array copy of the whole
 * matrix. Nothing is changed when this throws.
 */
export function toWeightArray(weights: unknown, inputDim: number, outputDim: number): Float32Array {
  return checkWeights(weights, inputDim, outputDim).copyRows(0, inputDim);
}
