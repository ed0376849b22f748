import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { freshSeed, Xoshiro128 } from '../random/prng.js';
import type { KerasObject } from '../serialization/keras-object.js';
import { computeFans } from './fans.js';
import { fillOrthogonal } from './orthogonal.js';
import { fillNormal, fillTruncatedNormal, fillUniform } from './random.js';

/** stddev of a unit normal truncated at +-2 sd: Keras divides by it so the result has the asked-for variance. */
const TRUNCATED_NORMAL_STDDEV = 0.87962566103423978;

type VarianceScalingConfig = { scale: number; mode: string; distribution: string };

/** The union of every initializer's resolved parameters (each class reads its own). */
interface InitializerParams extends VarianceScalingConfig {
  minval: number;
  maxval: number;
  mean: number;
  stddev: number;
  value: number;
  gain: number;
  seed?: number | null;
}

const VARIANCE_SCALING_PRESETS: Readonly<Record<string, VarianceScalingConfig>> = {
  GlorotUniform: { scale: 1, mode: 'fan_avg', distribution: 'uniform' },
  GlorotNormal: { scale: 1, mode: 'fan_avg', distribution: 'truncated_normal' },
  HeUniform: { scale: 2, mode: 'fan_in', distribution: 'uniform' },
  HeNormal: { scale: 2, mode: 'fan_in', distribution: 'truncated_normal' },
  LecunUniform: { scale: 1, mode: 'fan_in', distribution: 'uniform' },
  LecunNormal: { scale: 1, mode: 'fan_in', distribution: 'truncated_normal' },
};

function varianceScaling(out: Float32Array, rng: Xoshiro128, rows: number, cols: number, c: VarianceScalingConfig) {
  const { fanIn, fanOut } = computeFans(rows, cols);
  const n = c.mode === 'fan_in' ? fanIn : c.mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2;
  const s = c.scale / Math.max(1, n);
  if (c.distribution === 'uniform') {
    const limit = Math.sqrt(3 * s);
    fillUniform(out, rng, -limit, limit);
  } else if (c.distribution === 'untruncated_normal') {
    fillNormal(out, rng, 0, Math.sqrt(s));
  } else {
    fillTruncatedNormal(out, rng, 0, Math.sqrt(s) / TRUNCATED_NORMAL_STDDEV);
  }
}

/** Fills consecutive stretches of a (rows x cols) matrix, row-major, in order: one seeded random stream. */
export interface InitializerStream {
  /** Writes the next `out.length` values of the matrix (row-major) into `out`. */
  fill(out: Float32Array): void;
}

/**
 * The initializer as a stream: the values `initializeEmbeddings` returns, produced a stretch
 * at a time in row-major order, so a table can be initialized in chunks without one array of
 * the whole matrix (core fills a new table 16 MiB at a time). Orthogonal needs the whole
 * matrix for its QR decomposition and builds it on the first call.
 */
export function initializerStream(
  initializer: KerasObject,
  rows: number,
  cols: number,
  fallbackSeed: number | null = null,
): InitializerStream {
  const c = initializer.config as unknown as InitializerParams;
  const seed = c.seed ?? fallbackSeed ?? freshSeed();
  const rng = new Xoshiro128(seed);
  let at = 0;
  const fixed = (draw: (out: Float32Array) => void): InitializerStream => ({
    fill(out) {
      draw(out);
      at += out.length;
    },
  });
  switch (initializer.className) {
    case 'RandomUniform':
      return fixed((out) => fillUniform(out, rng, c.minval, c.maxval));
    case 'RandomNormal':
      return fixed((out) => fillNormal(out, rng, c.mean, c.stddev));
    case 'TruncatedNormal':
      return fixed((out) => fillTruncatedNormal(out, rng, c.mean, c.stddev));
    case 'Zeros':
      return fixed((out) => out.fill(0));
    case 'Ones':
      return fixed((out) => out.fill(1));
    case 'Constant':
      return fixed((out) => out.fill(c.value));
    case 'VarianceScaling':
      return fixed((out) => varianceScaling(out, rng, rows, cols, c));
    case 'Identity':
      return fixed((out) => {
        out.fill(0);
        for (let i = 0; i < out.length; i++) {
          const k = at + i;
          if (cols > 0 && k % cols === Math.floor(k / cols)) out[i] = c.gain;
        }
      });
    case 'Orthogonal': {
      let whole: Float32Array | null = null;
      return fixed((out) => {
        if (!whole) {
          whole = new Float32Array(rows * cols);
          fillOrthogonal(whole, rng, rows, cols, c.gain);
        }
        out.set(whole.subarray(at, at + out.length));
        if (at + out.length >= whole.length) whole = null;
      });
    }
    default: {
      const preset = VARIANCE_SCALING_PRESETS[initializer.className];
      if (!preset) throw new InvalidConfigError(`embeddings_initializer: no generator for ${initializer.className}.`);
      return fixed((out) => varianceScaling(out, rng, rows, cols, preset));
    }
  }
}

/**
 * Creates the (rows x cols) embedding matrix, row-major, from a resolved initializer.
 *
 * The initializer's own `seed` is used when set; otherwise `fallbackSeed`; otherwise a fresh
 * seed from `crypto.getRandomValues`. The same seed gives the same Float32Array bits on every
 * engine and every backend, because all backends call this one function (or
 * {@link initializerStream}, which produces the same values a stretch at a time).
 */
export function initializeEmbeddings(
  initializer: KerasObject,
  rows: number,
  cols: number,
  fallbackSeed: number | null = null,
): Float32Array {
  const out = new Float32Array(rows * cols);
  initializerStream(initializer, rows, cols, fallbackSeed).fill(out);
  return out;
}
