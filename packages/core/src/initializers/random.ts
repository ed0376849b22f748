import type { Xoshiro128 } from '../random/prng.js';

/** Fills `out` with U[minval, maxval): minval + (maxval - minval) * u in float64, rounded to float32. */
export function fillUniform(out: Float32Array, rng: Xoshiro128, minval: number, maxval: number): void {
  const width = maxval - minval;
  for (let i = 0; i < out.length; i++) out[i] = minval + width * rng.nextFloat64();
}

/** Fills `out` with N(mean, stddev), polar method in float64, rounded to float32. */
export function fillNormal(out: Float32Array, rng: Xoshiro128, mean: number, stddev: number): void {
  for (let i = 0; i < out.length; i++) out[i] = mean + stddev * rng.nextNormal();
}

/**
 * Fills `out` with N(mean, stddev) truncated at two standard deviations: a draw with
 * |z| > 2 is redrawn, as `tf.random.truncated_normal` (and so Keras) does.
 */
export function fillTruncatedNormal(out: Float32Array, rng: Xoshiro128, mean: number, stddev: number): void {
  for (let i = 0; i < out.length; i++) {
    let z = rng.nextNormal();
    while (z < -2 || z > 2) z = rng.nextNormal();
    out[i] = mean + stddev * z;
  }
}
