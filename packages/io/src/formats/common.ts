import { type EmbeddingConfig, EmbeddingError, resolveConfig } from '@embedding-layer/core';
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
  const base: EmbeddingConfig = found.fileConfig ?? { inputDim: found.rows, outputDim: found.cols, name: found.name };
  const config: EmbeddingConfig = { ...base, ...(options.config ?? {}) } as EmbeddingConfig;
  if (config.inputDim !== found.rows || config.outputDim !== found.cols) {
    const who = options.config && ('inputDim' in options.config || 'outputDim' in options.config) ? 'the caller gave' : 'the config says';
    throw badFile(
      file,
      `the matrix at ${found.location} has shape [${found.rows}, ${found.cols}] but ${who} input_dim ${config.inputDim}, output_dim ${config.outputDim}.`,
    );
  }
  if (found.weights.length !== found.rows * found.cols)
    throw badFile(file, `the matrix at ${found.location} holds ${found.weights.length} values, expected ${found.rows * found.cols}.`);
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
    weights: found.weights,
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
