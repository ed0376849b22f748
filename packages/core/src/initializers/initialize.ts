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

/**
 * Creates the (rows x cols) embedding matrix, row-major, from a resolved initializer.
 *
 * The initializer's own `seed` is used when set; otherwise `fallbackSeed`; otherwise a fresh
 * seed from `crypto.getRandomValues`. The same seed gives the same Float32Array bits on every
 * engine and every backend, because all backends call this one function.
 */
export function initializeEmbeddings(
  initializer: KerasObject,
  rows: number,
  cols: number,
  fallbackSeed: number | null = null,
): Float32Array {
  const out = new Float32Array(rows * cols);
  const c = initializer.config as unknown as InitializerParams;
  const seed = c.seed ?? fallbackSeed ?? freshSeed();
  const rng = new Xoshiro128(seed);
  switch (initializer.className) {
    case 'RandomUniform':
      fillUniform(out, rng, c.minval, c.maxval);
      break;
    case 'RandomNormal':
      fillNormal(out, rng, c.mean, c.stddev);
      break;
    case 'TruncatedNormal':
      fillTruncatedNormal(out, rng, c.mean, c.stddev);
      break;
    case 'Zeros':
      break;
    case 'Ones':
      out.fill(1);
      break;
    case 'Constant':
      out.fill(c.value);
      break;
    case 'VarianceScaling':
      varianceScaling(out, rng, rows, cols, c);
      break;
    case 'Orthogonal':
      fillOrthogonal(out, rng, rows, cols, c.gain);
      break;
    case 'Identity':
      for (let i = 0; i < Math.min(rows, cols); i++) out[i * cols + i] = c.gain;
      break;
    default: {
      const preset = VARIANCE_SCALING_PRESETS[initializer.className];
      if (!preset) throw new InvalidConfigError(`embeddings_initializer: no generator for ${initializer.className}.`);
      varianceScaling(out, rng, rows, cols, preset);
    }
  }
  return out;
}
