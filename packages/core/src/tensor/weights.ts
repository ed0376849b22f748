import { InvalidWeightsError } from '../errors/invalid-weights-error.js';
import { describeValue } from '../serialization/keras-object.js';

/** One weight matrix as accepted by `setWeights`: a flat row-major array, or rows of numbers, or `{ data, shape }`. */
export type WeightInput =
  | Float32Array
  | Float64Array
  | readonly number[]
  | readonly (readonly number[])[]
  | { readonly data: Float32Array | Float64Array | readonly number[]; readonly shape: readonly number[] };

/**
 * Checks a `setWeights` argument (a list of exactly one (inputDim, outputDim) matrix, as
 * Keras's `set_weights`) and returns a fresh row-major Float32Array copy. NaN and Infinity
 * are accepted, as in Keras. Nothing is changed when this throws.
 */
export function toWeightArray(weights: unknown, inputDim: number, outputDim: number): Float32Array {
  const expected = `a list of one (${inputDim}, ${outputDim}) matrix: [Float32Array(${inputDim * outputDim})] or [rows]`;
  if (!Array.isArray(weights) || weights.length !== 1) {
    throw new InvalidWeightsError(
      `setWeights expected ${expected}, received ${Array.isArray(weights) ? `a list of ${weights.length} arrays` : describeValue(weights)}.`,
    );
  }
  const w = weights[0] as unknown;
  const size = inputDim * outputDim;
  if (w instanceof Float32Array || w instanceof Float64Array) {
    if (w.length !== size)
      throw new InvalidWeightsError(`setWeights expected ${size} values (${inputDim} x ${outputDim}), received ${w.length}.`);
    // slice() and the typed-array constructor copy natively; Float32Array.from would go through the iterator.
    return w instanceof Float32Array ? w.slice() : new Float32Array(w);
  }
  if (typeof w === 'object' && w !== null && !Array.isArray(w) && 'data' in w && 'shape' in w) {
    const { data, shape } = w as { data: unknown; shape: unknown };
    if (!Array.isArray(shape) || shape.length !== 2 || shape[0] !== inputDim || shape[1] !== outputDim) {
      throw new InvalidWeightsError(`setWeights expected shape [${inputDim}, ${outputDim}], received ${describeValue(shape)}.`);
    }
    return toWeightArray([data], inputDim, outputDim);
  }
  if (Array.isArray(w)) {
    const nested = w.length > 0 && Array.isArray(w[0]);
    if (nested) {
      if (w.length !== inputDim) throw new InvalidWeightsError(`setWeights expected ${inputDim} rows, received ${w.length}.`);
      const out = new Float32Array(size);
      for (let r = 0; r < inputDim; r++) {
        const row = w[r] as unknown;
        if (!Array.isArray(row) || row.length !== outputDim) {
          throw new InvalidWeightsError(`setWeights expected row ${r} to hold ${outputDim} numbers, received ${describeValue(row)}.`);
        }
        for (let c = 0; c < outputDim; c++) {
          const v = row[c];
          if (typeof v !== 'number')
            throw new InvalidWeightsError(`setWeights expected a number at [${r}, ${c}], received ${describeValue(v)}.`);
          out[r * outputDim + c] = v;
        }
      }
      return out;
    }
    if (w.length !== size)
      throw new InvalidWeightsError(`setWeights expected ${size} values (${inputDim} x ${outputDim}), received ${w.length}.`);
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const v = w[i];
      if (typeof v !== 'number')
        throw new InvalidWeightsError(`setWeights expected a number at flat position ${i}, received ${describeValue(v)}.`);
      out[i] = v;
    }
    return out;
  }
  throw new InvalidWeightsError(`setWeights expected ${expected}, received ${describeValue(w)}.`);
}
