// PyTorch's EmbeddingBag semantics (torch 1.13 `F.embedding_bag`), as pure functions over typed
// arrays: the bag structure (offsets rules), the pooling of looked-up rows, and its gradient.
import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { ShapeMismatchError } from '../errors/shape-mismatch-error.js';
import type { IndexData, IndexTensor } from './types.js';

/** PyTorch's `mode` of `nn.EmbeddingBag`: how the rows of a bag are reduced. */
export type BagMode = 'sum' | 'mean' | 'max';

/** The modes, in torch's order of its `mode` argument. */
export const BAG_MODES: readonly BagMode[] = ['sum', 'mean', 'max'];

/** Offsets of ragged bags: an integer typed array or a number array (torch's 1-D `offsets` tensor). */
export type OffsetsInput = IndexData | readonly number[];

/**
 * PyTorch's `per_sample_weights`: one weight per index, flat row-major (Float32Array,
 * Float64Array or numbers), or nested arrays shaped like the indices.
 */
export type PerSampleWeightsInput = Float32Array | Float64Array | readonly number[] | readonly (readonly number[])[];

/** The bags of one input: bag `b` pools the indices at positions `[starts[b], ends[b])`. */
export interface Bags {
  /** First position of each bag. */
  readonly starts: Int32Array;
  /** One past the last position of each bag. */
  readonly ends: Int32Array;
}

/**
 * The bags of validated indices, by torch's rules. A 2-D input `[B, L]` is B bags of L indices
 * (offsets must be absent: torch's "if input is 2D, then offsets has to be None"). A 1-D input
 * needs `offsets`: bag `i` starts at `offsets[i]` and ends at the next offset (the last bag at
 * the end of the input), or, with `includeLastOffset`, offsets has one more entry, the end of
 * the last bag, which must be the input's length (torch's CSR format, as its docs state it;
 * torch 1.13's CPU kernel corrupts memory on a shorter one in mean and max modes).
 * `offsets[0]` must be 0 and offsets must not decrease (torch 1.13 does not check the latter
 * and pools garbage); each error names the offending offset and its position.
 */
export function resolveBags(indices: IndexTensor, offsets: OffsetsInput | undefined, includeLastOffset: boolean): Bags {
  const { shape } = indices;
  const n = indices.data.length;
  if (shape.length === 2) {
    if (offsets !== undefined && offsets !== null) {
      throw new ShapeMismatchError(
        `EmbeddingBag: 2-D indices [${shape.join(', ')}] are fixed-size bags (one per row), so offsets must be absent, received ${describeValue(offsets)} (torch: "if input is 2D, then offsets has to be None").`,
      );
    }
    const [rows, length] = shape as [number, number];
    const starts = new Int32Array(rows);
    const ends = new Int32Array(rows);
    for (let b = 0; b < rows; b++) {
      starts[b] = b * length;
      ends[b] = (b + 1) * length;
    }
    return { starts, ends };
  }
  if (shape.length !== 1) {
    throw new ShapeMismatchError(
      `EmbeddingBag takes 1-D indices with offsets (ragged bags) or 2-D indices (fixed-size bags), received shape [${shape.join(', ')}] (torch: "input has to be 1D or 2D Tensor").`,
    );
  }
  if (offsets === undefined || offsets === null) {
    throw new ShapeMismatchError(
      `EmbeddingBag: 1-D indices (${n} values) need offsets (where each bag starts), received ${describeValue(offsets)}; pass { offsets } or 2-D indices.`,
    );
  }
  const values = checkOffsets(offsets);
  if (includeLastOffset && values.length === 0) {
    throw new ShapeMismatchError(
      'EmbeddingBag: with includeLastOffset, offsets needs at least 1 value (the end of the last bag), received none (torch: "include_last_offset: number of offset should be at least 1").',
    );
  }
  if (values.length > 0 && values[0] !== 0) {
    throw new ShapeMismatchError(
      `EmbeddingBag: offsets[0] = ${values[0]}; it has to be 0 (the first bag starts at position 0 of the indices; torch: "offsets[0] has to be 0").`,
    );
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0 && v < values[i - 1]!) {
      throw new ShapeMismatchError(
        `EmbeddingBag: offsets[${i}] = ${v} is less than offsets[${i - 1}] = ${values[i - 1]}; offsets must not decrease (each bag starts where the previous one ends or later).`,
      );
    }
    if (v > n) {
      throw new ShapeMismatchError(
        `EmbeddingBag: offsets[${i}] = ${v} is past the end of the indices (${n} values); every offset must be in [0, ${n}] (torch: "offsets[-1] can not be greater than input's length").`,
      );
    }
  }
  const bags = includeLastOffset ? values.length - 1 : values.length;
  if (includeLastOffset && values[bags] !== n) {
    throw new ShapeMismatchError(
      `EmbeddingBag: with includeLastOffset the last offset (offsets[${bags}] = ${values[bags]}) must be the number of indices, ${n} (torch's CSR rule: "the last element is equivalent to the size of indices").`,
    );
  }
  if (!includeLastOffset && bags === 0 && n > 0) {
    throw new ShapeMismatchError(
      `EmbeddingBag: offsets is empty (no bags) but there are ${n} indices; every index must belong to a bag (offsets[0] = 0).`,
    );
  }
  const starts = values.slice(0, bags);
  const ends = new Int32Array(bags);
  for (let b = 0; b < bags; b++) ends[b] = b + 1 < values.length ? values[b + 1]! : n;
  return { starts, ends };
}

/** Offsets as int32: integers >= 0 (the bounds are checked by {@link resolveBags}). */
function checkOffsets(offsets: OffsetsInput): Int32Array {
  if (!Array.isArray(offsets) && !(ArrayBuffer.isView(offsets) && !(offsets instanceof DataView))) {
    throw new ShapeMismatchError(
      `EmbeddingBag: offsets must be a 1-D integer typed array or number array (torch's 1-D offsets tensor), received ${describeValue(offsets)}.`,
    );
  }
  const source = offsets as ArrayLike<number | bigint>;
  const out = new Int32Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const raw = source[i];
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
      throw new ShapeMismatchError(
        `EmbeddingBag: offsets[${i}] = ${describeValue(raw)} is not a valid offset: expected an integer position in the indices, >= 0.`,
      );
    }
    out[i] = v;
  }
  return out;
}

/**
 * `per_sample_weights` as float64, one per index, checked against the mode (torch: only
 * `'sum'`), and against the indices' count and, for nested arrays, their shape.
 */
export function checkPerSampleWeights(
  weights: PerSampleWeightsInput | undefined,
  indices: IndexTensor,
  mode: BagMode,
): Float64Array | null {
  if (weights === undefined || weights === null) return null;
  if (mode !== 'sum') {
    throw new InvalidConfigError(
      `EmbeddingBag: perSampleWeights is only supported with mode 'sum', and this layer's mode is '${mode}' (torch: "per_sample_weights is only supported for mode='sum'").`,
    );
  }
  const n = indices.data.length;
  const shape = indices.shape;
  let flat: ArrayLike<unknown>;
  if (weights instanceof Float32Array || weights instanceof Float64Array) flat = weights;
  else if (Array.isArray(weights)) {
    if (weights.length > 0 && Array.isArray(weights[0])) {
      const rows = weights as readonly unknown[];
      const width = shape[1];
      if (shape.length !== 2 || rows.length !== shape[0] || !rows.every((r) => Array.isArray(r) && r.length === width)) {
        throw new ShapeMismatchError(
          `EmbeddingBag: perSampleWeights must have the indices' shape [${shape.join(', ')}] (torch: "must have the same shape as the input"), received ${describeValue(weights)}.`,
        );
      }
      flat = (rows as number[][]).flat();
    } else flat = weights as readonly unknown[];
  } else {
    throw new ShapeMismatchError(
      `EmbeddingBag: perSampleWeights must be a Float32Array, Float64Array or number array (one weight per index), received ${describeValue(weights)}.`,
    );
  }
  if (flat.length !== n) {
    throw new ShapeMismatchError(
      `EmbeddingBag: perSampleWeights has ${flat.length} values; the indices [${shape.join(', ')}] have ${n} (torch: "must have the same shape as the input").`,
    );
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = flat[i];
    if (typeof v !== 'number') {
      throw new ShapeMismatchError(`EmbeddingBag: perSampleWeights[${i}] = ${describeValue(v)} is not a number.`);
    }
    out[i] = v;
  }
  return out;
}

/** What {@link poolBags} returns: the pooled rows, and for `max` the position each value came from. */
export interface PooledBags {
  /** `[bags, outputDim]`, row-major float32. */
  output: Float32Array;
  /** `max` only: for each bag and column, the position (in the indices) of the row that gave the max, -1 for an empty bag. */
  argmax: Int32Array | null;
}

/**
 * Pools looked-up rows (`rows`: one row of `d` values per index position, row-major) into
 * bags, as torch 1.13's `embedding_bag`: `sum` (each row times its per-sample weight, when
 * given), `mean` (over the bag's rows that are not `paddingIdx`), `max` (per column; the first
 * position wins a tie). Positions holding `paddingIdx` are left out of every mode and of the
 * mean's count; an empty bag (or one of padding only) gives zeros. Sums in float64.
 */
export function poolBags(
  rows: Float32Array,
  ids: Int32Array,
  bags: Bags,
  d: number,
  mode: BagMode,
  paddingIdx: number | null,
  weights: Float64Array | null,
): PooledBags {
  const count = bags.starts.length;
  const output = new Float32Array(count * d);
  const argmax = mode === 'max' ? new Int32Array(count * d).fill(-1) : null;
  const acc = new Float64Array(d);
  const pad = paddingIdx ?? -1;
  for (let b = 0; b < count; b++) {
    const start = bags.starts[b]!;
    const end = bags.ends[b]!;
    const o = b * d;
    if (mode === 'max') {
      const at = argmax!;
      for (let p = start; p < end; p++) {
        if (ids[p] === pad) continue;
        const r = p * d;
        for (let c = 0; c < d; c++) {
          const v = rows[r + c]!;
          if (at[o + c] === -1 || v > output[o + c]!) {
            output[o + c] = v;
            at[o + c] = p;
          }
        }
      }
      continue;
    }
    acc.fill(0);
    let n = 0;
    for (let p = start; p < end; p++) {
      if (ids[p] === pad) continue;
      n++;
      const r = p * d;
      if (weights === null) addRow(acc, rows, r, d);
      else addScaledRow(acc, rows, r, d, weights[p]!);
    }
    if (n === 0) continue;
    if (mode === 'mean') for (let c = 0; c < d; c++) output[o + c] = acc[c]! / n;
    else for (let c = 0; c < d; c++) output[o + c] = acc[c]!;
  }
  return { output, argmax };
}

/** acc += rows[r .. r + d) (4 columns a step: the hot loop of sum and mean). */
function addRow(acc: Float64Array, rows: Float32Array, r: number, d: number): void {
  const end = d - (d % 4);
  let c = 0;
  for (; c < end; c += 4) {
    acc[c]! += rows[r + c]!;
    acc[c + 1]! += rows[r + c + 1]!;
    acc[c + 2]! += rows[r + c + 2]!;
    acc[c + 3]! += rows[r + c + 3]!;
  }
  for (; c < d; c++) acc[c]! += rows[r + c]!;
}

/** acc += w * rows[r .. r + d). */
function addScaledRow(acc: Float64Array, rows: Float32Array, r: number, d: number, w: number): void {
  for (let c = 0; c < d; c++) acc[c]! += w * rows[r + c]!;
}

/**
 * The gradient of {@link poolBags} with respect to each looked-up row (one row per index
 * position), from the gradient of the pooled output (`[bags, d]`): `sum` gives each position
 * its bag's gradient times its per-sample weight, `mean` divides it by the bag's count (rows
 * that are not `paddingIdx`), `max` routes each column to the position that gave the max.
 * Padding positions get zeros. What the lookup's sparse gradient then reduces to table rows.
 */
export function bagRowGradient(
  upstream: ArrayLike<number>,
  ids: Int32Array,
  bags: Bags,
  d: number,
  mode: BagMode,
  paddingIdx: number | null,
  weights: Float64Array | null,
  argmax: Int32Array | null,
): Float32Array {
  const out = new Float32Array(ids.length * d);
  const pad = paddingIdx ?? -1;
  for (let b = 0; b < bags.starts.length; b++) {
    const start = bags.starts[b]!;
    const end = bags.ends[b]!;
    const o = b * d;
    if (mode === 'max') {
      for (let c = 0; c < d; c++) {
        const p = argmax![o + c]!;
        if (p >= 0) out[p * d + c] = upstream[o + c]!;
      }
      continue;
    }
    let n = 0;
    if (mode === 'mean') for (let p = start; p < end; p++) if (ids[p] !== pad) n++;
    for (let p = start; p < end; p++) {
      if (ids[p] === pad) continue;
      const scale = mode === 'mean' ? 1 / n : weights === null ? 1 : weights[p]!;
      for (let c = 0; c < d; c++) out[p * d + c] = upstream[o + c]! * scale;
    }
  }
  return out;
}
