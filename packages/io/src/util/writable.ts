import { InvalidConfigError, InvalidWeightsError } from '@embedding-layer/core';
import { showValue } from './json.js';

/**
 * @internal Checks a layer name before a writer uses it as a path inside the file (an HDF5
 * group, a TF.js weight name, a Keras 3 `vars` attribute): non-empty, at most 255 characters,
 * no `/` or `\` (Keras 3 refuses `/` in layer names too), no control characters (NUL among
 * them), and not `.` or `..`. An InvalidConfigError naming `path`, before anything is written.
 */
export function checkLayerNameForFile(name: string, path: string): void {
  const problem =
    typeof name !== 'string' || name.length === 0
      ? 'it is empty'
      : name.length > 255
        ? `it has ${name.length} characters (at most 255)`
        : /[/\\]/.test(name)
          ? 'it contains "/" or "\\", which the file formats use to separate groups'
          : // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
            /[\u0000-\u001f\u007f]/.test(name)
            ? 'it contains a control character (NUL, newline, ...)'
            : name === '.' || name === '..'
              ? 'it is "." or "..", which name groups themselves'
              : undefined;
  if (problem)
    throw new InvalidConfigError(
      `${path}: cannot write the layer name ${showValue(name, 80)}: ${problem}. Rename the layer (config name) to letters, digits, "_", "-" or ".".`,
    );
}

/**
 * @internal Checks that every weight is finite before a quantizing writer (TF.js uint8/uint16,
 * Keras 3 int8) runs: those formats cannot hold NaN or ±Infinity, and one would corrupt the
 * scale of its whole row or table. An InvalidWeightsError naming the first such value.
 */
export function checkFiniteForQuantizing(weights: Float32Array, outputDim: number, path: string, format: string): void {
  for (let i = 0; i < weights.length; i++) {
    const v = weights[i]!;
    if (!Number.isFinite(v))
      throw new InvalidWeightsError(
        `${path}: ${format} cannot store ${v} (row ${Math.floor(i / Math.max(1, outputDim))}, column ${i % Math.max(1, outputDim)}); it stores finite values only. Replace non-finite weights or write float32.`,
      );
  }
}
