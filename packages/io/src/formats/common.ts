import { type EmbeddingConfig, EmbeddingError, type RowSource, resolveConfig } from '@embedding-layer/core';
import { chunkRowsFor, rowSource } from '@embedding-layer/core/backend';
import { badFile } from '../errors.js';
import type { EmbeddingRecord, ModelFormat, ProgressCallback, StoredDtype } from '../types.js';

/** Options of every reader. */
export interface ReadOptions {
  /**
   * Config values to use instead of (or, when the file holds no config, in addition to) the
   * file's: e.g. `{ maskZero: true }` for a .npy file. `inputDim` / `outputDim`, when given,
   * must match the stored matrix. Without them, a file without config gets its dims from the
   * matrix shape.
   */
  readonly config?: Partial<EmbeddingConfig>;
  /** Name of the layer for files that do not name it (.npy). Default `'embedding'`. */
  readonly name?: string;
  /** Called as bytes are read, for progress bars. */
  readonly onProgress?: ProgressCallback;
}

/** @internal Everything a reader found about one matrix. */
export interface FoundMatrix {
  name: string;
  weights: Float32Array;
  rows: number;
  cols: number;
  location: string;
  storedDtype: StoredDtype;
  storedBytes: number;
  fileConfig: EmbeddingConfig | null;
  sourceConfig: Record<string, unknown> | null;
  notes: readonly string[];
}

/** @internal Builds a record, checking the config's dims against the stored matrix. */
export function makeRecord(file: string, format: ModelFormat, found: FoundMatrix, options: ReadOptions = {}): EmbeddingRecord {
  const { weights, ...rest } = found;
  const meta = recordWithoutWeights(file, format, rest, options);
  if (weights.length !== found.rows * found.cols)
    throw badFile(file, `the matrix at ${found.location} holds ${weights.length} values, expected ${found.rows * found.cols}.`);
  return { ...meta, weights };
}

/** @internal A record whose table is still in the file: read it a range of rows at a time from `source`. */
export type LazyRecord = Omit<EmbeddingRecord, 'weights'> & { readonly source: RowSource };

/** @internal Tables of a file held open for streaming reads; `close()` when done. */
export interface LazyTables {
  readonly records: readonly LazyRecord[];
  close(): Promise<void>;
}

/** @internal {@link makeRecord} for a table still in the file. */
export function makeLazyRecord(
  file: string,
  format: ModelFormat,
  found: Omit<FoundMatrix, 'weights'>,
  source: RowSource,
  options: ReadOptions = {},
): LazyRecord {
  return { ...recordWithoutWeights(file, format, found, options), source };
}

function recordWithoutWeights(
  file: string,
  format: ModelFormat,
  found: Omit<FoundMatrix, 'weights'>,
  options: ReadOptions,
): Omit<EmbeddingRecord, 'weights'> {
  const base: EmbeddingConfig = found.fileConfig ?? { inputDim: found.rows, outputDim: found.cols, name: found.name };
  const config: EmbeddingConfig = { ...base, ...(options.config ?? {}) } as EmbeddingConfig;
  if (config.inputDim !== found.rows || config.outputDim !== found.cols) {
    const who = options.config && ('inputDim' in options.config || 'outputDim' in options.config) ? 'the caller gave' : 'the config says';
    throw badFile(
      file,
      `the matrix at ${found.location} has shape [${found.rows}, ${found.cols}] but ${who} input_dim ${config.inputDim}, output_dim ${config.outputDim}.`,
    );
  }
  // A config built from the matrix shape alone (no config in the file) is checked here, so a
  // file whose matrix core cannot hold (0 rows, say) fails as a bad file, not at Embedding.create.
  try {
    resolveConfig(config);
  } catch (error) {
    // The caller's own config values keep their error (a ConfigError, say); the file's get BAD_FILE.
    if (EmbeddingError.isInstance(error) && (error.code === 'BAD_FILE' || options.config !== undefined)) throw error;
    throw badFile(
      file,
      `the matrix at ${found.location} does not make a valid Embedding: ${(error as Error)?.message ?? String(error)}`,
      error,
    );
  }
  return {
    name: config.name ?? found.name,
    config,
    inputDim: found.rows,
    outputDim: found.cols,
    format,
    location: found.location,
    storedDtype: found.storedDtype,
    storedBytes: found.storedBytes,
    sourceConfig: found.sourceConfig,
    notes: found.notes,
  };
}

/**
 * @internal A {@link RowSource} over a row-major matrix of `elementBytes` per value whose bytes
 * `readBytes(byteOffset, byteLength)` gives (from an open file, across shards, or from memory),
 * decoded by `decode` (bytes of `count` rows -> float32 values). Each read reads just its rows'
 * bytes; progress is reported as bytes of the table read.
 */
export function bytesRowSource(
  rows: number,
  cols: number,
  elementBytes: number,
  readBytes: (byteOffset: number, byteLength: number) => Uint8Array | Promise<Uint8Array>,
  decode: (bytes: Uint8Array, values: number) => Float32Array,
  onProgress?: ProgressCallback,
): RowSource {
  const rowBytes = cols * elementBytes;
  const total = rows * rowBytes;
  let done = 0;
  return rowSource(rows, cols, async (start, count) => {
    const bytes = await readBytes(start * rowBytes, count * rowBytes);
    done = Math.min(total, done + bytes.length);
    onProgress?.(done, total);
    return decode(bytes, count * cols);
  });
}

/** @internal Checks that a shape is a 2-D matrix of non-negative integers. */
export function checkMatrixShape(file: string, where: string, shape: readonly unknown[]): [number, number] {
  if (shape.length !== 2 || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0))
    throw badFile(file, `${where}: expected a 2-D (input_dim, output_dim) matrix, found shape ${JSON.stringify(shape)}.`);
  return [shape[0] as number, shape[1] as number];
}

/** @internal A layer name from a tensor name: `embedding/embeddings:0`, `emb.weight` -> `embedding`, `emb`. */
export function layerNameFromTensor(tensorName: string): string {
  const stripped = tensorName.replace(/:0$/, '').replace(/(\/embeddings|\.weight|\/weight|\.embeddings)$/, '');
  return stripped.length > 0 ? stripped : tensorName;
}

/** @internal Reads rows [start, start + count) of a table as float32 values (a layer's `readMergedRows`). */
export type RowReader = (start: number, count: number) => Promise<Float32Array> | Float32Array;

/** @internal A {@link RowReader} over a table held in memory (views, no copies). */
export function arrayRows(weights: Float32Array, cols: number): RowReader {
  return (start, count) => weights.subarray(start * cols, (start + count) * cols);
}

/** @internal Calls `each` with the table's rows in order, a chunk of about 16 MiB at a time. */
export async function forEachChunk(
  rows: number,
  cols: number,
  readRows: RowReader,
  each: (values: Float32Array) => Promise<void>,
): Promise<void> {
  const chunk = chunkRowsFor(cols);
  for (let start = 0; start < rows; start += chunk) {
    const count = Math.min(chunk, rows - start);
    const values = await readRows(start, count);
    if (values.length !== count * cols)
      throw new RangeError(`reading rows [${start}, ${start + count}) gave ${values.length} values, expected ${count * cols}.`);
    await each(values);
  }
}
