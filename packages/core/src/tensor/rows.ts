import type { ResolvedEmbeddingConfig } from '../config/embedding-config.js';
import { describeValue } from '../errors/describe-value.js';
import { InvalidWeightsError } from '../errors/invalid-weights-error.js';
import { LimitExceededError } from '../errors/limit-exceeded-error.js';
import { initializerStream } from '../initializers/initialize.js';
import { freshSeed } from '../random/prng.js';
import type { MaybePromise, RowSource } from '../spec/v2/embedding-backend-v2.js';
import { chunkRowsFor, MAX_ARRAY_LENGTH } from './limits.js';
import type { CheckedWeights } from './weights.js';

/**
 * The whole source as one row-major Float32Array: for backends that hold the table as one
 * array (TF.js's tensor, ONNX Runtime's feed). One read of every row: the result is kept
 * whole anyway, so reading in chunks would only add a second pass over the table (and a
 * 16 MiB allocation per chunk, each new memory to page in); one read writes each value once
 * (a 1,000,000 x 256 table from the caller's weights: 0.77 s CPU instead of about 1.1 s).
 * A table over one typed array (2^32 - 1 values) is a `LimitExceededError`.
 */
export async function readAllRows(source: RowSource, backend = 'this'): Promise<Float32Array> {
  const { rows, outputDim: d } = source;
  if (rows * d > MAX_ARRAY_LENGTH) {
    throw new LimitExceededError('table as one Float32Array', rows * d * 4, MAX_ARRAY_LENGTH * 4, backend, 'one typed array');
  }
  return source.read(0, rows);
}

/**
 * Reads every row of `source` in order, `source.chunkRows` rows at a time, and hands each chunk
 * to `write(start, rows)` (awaited before the next read): how a backend fills a new table from a
 * source without a second copy of the whole table.
 */
export async function copySourceRows(
  source: Pick<RowSource, 'rows' | 'chunkRows' | 'read'>,
  write: (start: number, rows: Float32Array) => MaybePromise<void>,
): Promise<void> {
  for (let start = 0; start < source.rows; start += source.chunkRows) {
    await write(start, await source.read(start, Math.min(source.chunkRows, source.rows - start)));
  }
}

/** A {@link RowSource} over a function reading row ranges. */
export function rowSource(rows: number, outputDim: number, read: (start: number, count: number) => MaybePromise<Float32Array>): RowSource {
  return Object.freeze({ rows, outputDim, chunkRows: chunkRowsFor(outputDim), read });
}

/** The initial table of a config from core's seeded initializer, as a {@link RowSource} (cheapest read in order). */
export function initializerSource(config: ResolvedEmbeddingConfig): RowSource {
  const { inputDim: rows, outputDim: d } = config;
  // Fix the seed now, so that re-reading a range (out of order) gives the same values.
  const seed = (config.embeddingsInitializer.config.seed as number | null | undefined) ?? config.seed ?? freshSeed();
  let stream = initializerStream(config.embeddingsInitializer, rows, d, seed);
  let next = 0;
  return rowSource(rows, d, (start, count) => {
    if (start < next) {
      stream = initializerStream(config.embeddingsInitializer, rows, d, seed);
      next = 0;
    }
    // Skip to `start` (only when reads come out of order), a chunk at a time.
    const chunk = chunkRowsFor(d);
    while (next < start) {
      const n = Math.min(chunk, start - next);
      stream.fill(new Float32Array(n * d));
      next += n;
    }
    const out = new Float32Array(count * d);
    stream.fill(out);
    next = start + count;
    return out;
  });
}

/** Checked user weights as a {@link RowSource}; `shared`: the caller's own table, which the backend may keep (see `RowSource.shared`). */
export function weightsSource(weights: CheckedWeights, rows: number, outputDim: number, shared?: Float32Array): RowSource {
  const source = rowSource(rows, outputDim, (start, count) => weights.copyRows(start, count));
  return shared === undefined ? source : Object.freeze({ ...source, shared });
}

/** Whether `value` is a {@link RowSource} (an object with a `read` method), not a list of weights. */
export function isRowSource(value: unknown): value is RowSource {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { read?: unknown }).read === 'function';
}

/**
 * A caller's {@link RowSource}, checked: its dims must be the table's, and each read must give
 * `count * outputDim` float32 values (else `InvalidWeightsError`, before the backend keeps them).
 * Reads go in core's chunk size, whatever the source suggests.
 */
export function checkedRowSource(source: RowSource, rows: number, outputDim: number, what = 'weights'): RowSource {
  if (source.rows !== rows || source.outputDim !== outputDim) {
    throw new InvalidWeightsError(
      `${what} expected a row source of ${rows} x ${outputDim} (input_dim x output_dim), received one of ${describeValue(source.rows)} x ${describeValue(source.outputDim)}.`,
    );
  }
  return rowSource(rows, outputDim, async (start, count) => {
    const out = await source.read(start, count);
    if (!(out instanceof Float32Array) || out.length !== count * outputDim) {
      throw new InvalidWeightsError(
        `${what}: reading rows [${start}, ${start + count}) expected a Float32Array of ${count * outputDim} values, received ${
          out instanceof Float32Array ? `${out.length} values` : describeValue(out)
        }.`,
      );
    }
    return out;
  });
}
