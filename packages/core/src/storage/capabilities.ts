/**
 * A table's element storage. float32 is exact; float16, int8 and int4 trade precision for memory
 * with the bounds of `STORAGE` (in `@embedding-layer/core/backend`). Further storages may be added by later spec versions;
 * the name is an open string so a backend can declare one this core does not list.
 */
export type StorageDtype = 'float32' | 'float16' | 'int8' | 'int4' | (string & {});

/**
 * The documented error of a storage, for the finite values of one row `w` of the table: every
 * value read back (by a lookup or `getWeights`) is within
 * `relative * max|w| + absolute` of the float32 value written. Float32 storage is `{ 0, 0 }`.
 */
export interface StorageBound {
  /** Multiplies the largest finite |value| of the row. */
  readonly relative: number;
  /** Added, for values near zero (float16 subnormals, int8's epsilon). */
  readonly absolute: number;
}

/** What a backend's table storage keeps and loses: part of `supports` (`supports.storage`). */
export interface StorageCapability {
  /** The storage, e.g. `'int8'`. */
  readonly dtype: StorageDtype;
  /** Bytes per stored value (int8 and int4 also keep one float32 scale per row; int4 is 0.5). */
  readonly bytesPerValue: number;
  /** The error bound of finite values up to {@link StorageCapability.maxValue}. */
  readonly bound: StorageBound;
  /** Largest finite magnitude stored within the bound (float16: 65504; larger values become ±Infinity). */
  readonly maxValue: number;
  /** Whether NaN and ±Infinity read back as written (int8 stores NaN as 0 and ±Infinity as ±127, int4 as 0, 7 and -8). */
  readonly nonFinite: boolean;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The storages core's codec implements, with their bounds:
 *
 * - `float32`: exact.
 * - `float16`: IEEE binary16, round to nearest even: |error| <= 2^-11 |w| for normal values and
 *   <= 2^-25 for subnormal ones, so <= 2^-11 max|row| + 2^-25; values over 65504 overflow.
 * - `int8`: Keras 3's per-row abs-max quantization (`scale = 127 / (max|row| + 1e-7)`,
 *   `q = round(w * scale)`, read as `q / scale`, in float32): |error| <= (max|row| + 1e-7) / 254
 *   plus float32 rounding, i.e. <= (1/254 + 2^-21) max|row| + 1e-9.
 * - `int4`: Keras 3's per-channel int4 (`Embedding.quantize('int4')` with a per-row scale:
 *   `scale = 7 / (max|row| + 1e-7)`, `q = round(w * scale)` in [-8, 7], two values packed per
 *   byte by `pack_int4(axis=-1)`, read as `q / scale`): |error| <= (max|row| + 1e-7) / 14 plus
 *   float32 rounding, i.e. <= (1/14 + 2^-21) max|row| + 1e-8.
 *
 * A backend that stores float16 or int8 with core's codec declares `supports.storage:
 * STORAGE.int8` (etc.); the conformance suite reads these bounds to set its tolerances.
 */
export const STORAGE: Readonly<Record<'float32' | 'float16' | 'int8' | 'int4', StorageCapability>> = Object.freeze({
  float32: Object.freeze({
    dtype: 'float32',
    bytesPerValue: 4,
    bound: Object.freeze({ relative: 0, absolute: 0 }),
    maxValue: FLOAT32_MAX,
    nonFinite: true,
  }),
  float16: Object.freeze({
    dtype: 'float16',
    bytesPerValue: 2,
    bound: Object.freeze({ relative: 2 ** -11, absolute: 2 ** -25 }),
    maxValue: 65504,
    nonFinite: true,
  }),
  int8: Object.freeze({
    dtype: 'int8',
    bytesPerValue: 1,
    bound: Object.freeze({ relative: 1 / 254 + 2 ** -21, absolute: 1e-9 }),
    maxValue: FLOAT32_MAX,
    nonFinite: false,
  }),
  int4: Object.freeze({
    dtype: 'int4',
    bytesPerValue: 0.5,
    bound: Object.freeze({ relative: 1 / 14 + 2 ** -21, absolute: 1e-8 }),
    maxValue: FLOAT32_MAX,
    nonFinite: false,
  }),
});
