import type { InputLength } from '../config/embedding-config.js';
import { describeValue } from '../errors/describe-value.js';
import { ShapeMismatchError } from '../errors/shape-mismatch-error.js';

/** A shape whose dimensions may be unknown (`null`), as Keras writes `None`. */
export type SymbolicShape = readonly (number | null)[];

/**
 * Keras 2's `compute_output_shape`: `input_shape + (output_dim,)` for any rank; with
 * `input_length`, its list must have one entry per non-batch dimension, and known lengths must
 * agree with known dimensions (else Keras's error: '"input_length" is X, but received input has
 * shape Y'). A null length takes the input's dimension.
 */
export function computeOutputShape(inputShape: SymbolicShape, outputDim: number, inputLength: InputLength): (number | null)[] {
  if (
    !Array.isArray(inputShape) ||
    inputShape.length === 0 ||
    !inputShape.every((d) => d === null || (Number.isSafeInteger(d) && d >= 0))
  ) {
    throw new ShapeMismatchError(
      `input shape must be a non-empty array of non-negative integers or nulls (the first is the batch), received ${describeValue(inputShape)}.`,
    );
  }
  if (inputLength === null) return [...inputShape, outputDim];
  const lengths = typeof inputLength === 'number' ? [inputLength] : [...inputLength];
  const mismatch = () =>
    new ShapeMismatchError(
      `"input_length" is ${describeValue(inputLength)}, but received input has shape ${describeValue(inputShape)}: expected rank ${lengths.length + 1} (batch, ${lengths.map((l) => l ?? 'any').join(', ')}).`,
    );
  if (lengths.length !== inputShape.length - 1) throw mismatch();
  const out: (number | null)[] = [inputShape[0]!];
  for (let i = 0; i < lengths.length; i++) {
    const want = lengths[i]!;
    const got = inputShape[i + 1]!;
    if (want !== null && got !== null && want !== got) throw mismatch();
    out.push(want ?? got);
  }
  out.push(outputDim);
  return out;
}
