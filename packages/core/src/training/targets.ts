import { describeValue } from '../errors/describe-value.js';
import { ShapeMismatchError } from '../errors/shape-mismatch-error.js';

/** Training targets: the expected layer output, as nested rows, a flat Float32Array/Float64Array/number[], or `{ data, shape }`. */
export type TargetInput =
  | Float32Array
  | Float64Array
  | readonly number[]
  | readonly unknown[]
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

function flattenNumbers(value: unknown, out: number[]): void {
  if (Array.isArray(value)) for (const v of value) flattenNumbers(v, out);
  else if (typeof value === 'number') out.push(value);
  else throw new ShapeMismatchError(`targets must hold numbers, received ${describeValue(value)}.`);
}

/** Checks targets against the output shape `[...indices.shape, outputDim]` and returns them as float32. */
export function toTargetArray(y: TargetInput, outputShape: readonly number[]): Float32Array {
  const size = outputShape.reduce((a, b) => a * b, 1);
  let values: ArrayLike<number>;
  if (y instanceof Float32Array || y instanceof Float64Array) values = y;
  else if (Array.isArray(y)) {
    const flat: number[] = [];
    flattenNumbers(y, flat);
    values = flat;
  } else if (typeof y === 'object' && y !== null && 'data' in y && 'shape' in y) {
    const shape = (y as { shape: readonly number[] }).shape;
    if (shape.length !== outputShape.length || shape.some((d, i) => d !== outputShape[i])) {
      throw new ShapeMismatchError(`targets have shape [${shape.join(', ')}]; the layer's output has shape [${outputShape.join(', ')}].`);
    }
    values = (y as { data: ArrayLike<number> }).data;
  } else {
    throw new ShapeMismatchError(
      `targets must be numbers shaped like the output [${outputShape.join(', ')}], received ${describeValue(y)}.`,
    );
  }
  if (values.length !== size) {
    throw new ShapeMismatchError(`targets hold ${values.length} values; the output [${outputShape.join(', ')}] has ${size}.`);
  }
  return values instanceof Float32Array ? values : new Float32Array(values as ArrayLike<number>);
}
