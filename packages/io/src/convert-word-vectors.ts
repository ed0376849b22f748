import { basename, dirname, extname, join } from 'node:path';
import { resolveConfig } from '@embedding-layer/core';
import { type SaveEmbeddingOptions, saveEmbedding } from './api.js';
import { formatForWriting } from './detect.js';
import { badFile } from './errors.js';
import { type ReadWordVectorsOptions, readWordVectors, type WordVectorFormat } from './formats/word-vectors.js';
import type { ModelFormat } from './types.js';
import { atomicWrite, checkOutputPath } from './util/fs.js';

/** Extensions read as word vectors by {@link isWordVectorsPath}: `.txt` (GloVe, word2vec text), `.vec` (fastText), `.bin` (word2vec binary). */
const WORD_VECTOR_EXTENSIONS = ['.txt', '.vec', '.bin'];

/** True when `path`'s extension is one of the word-vector files' (`.txt`, `.vec`, `.bin`). */
export function isWordVectorsPath(path: string): boolean {
  return WORD_VECTOR_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** Options of {@link convertWordVectors}. */
export interface ConvertWordVectorsOptions extends Omit<ReadWordVectorsOptions, 'format'>, Omit<SaveEmbeddingOptions, 'format'> {
  /** Input format. Default: from the extension and the first line (see {@link readWordVectors}). */
  readonly inputFormat?: WordVectorFormat;
  /** Output format. Default: from the output's extension. */
  readonly outputFormat?: ModelFormat;
  /** Layer name written into the output. Default `'embedding'`. */
  readonly name?: string;
}

/** What {@link convertWordVectors} wrote. */
export interface ConvertWordVectorsResult {
  readonly from: WordVectorFormat;
  readonly to: ModelFormat;
  /** Rows (`input_dim`, reserved rows included) and columns (`output_dim`). */
  readonly inputDim: number;
  readonly outputDim: number;
  /** The vocabulary file written beside the output. */
  readonly vocabPath: string;
}

/**
 * Converts GloVe / word2vec / fastText vectors into a model file (any format {@link saveEmbedding}
 * writes) and a `vocab.txt` beside it (row i's token on line i + 1). With `maskToken`, row 0
 * is reserved and the layer gets `maskZero: true`; with `oovToken`, the next row is the
 * out-of-vocabulary row. Both files are checked and written atomically, the vocabulary last;
 * the input is streamed (memory is the table plus the words).
 */
export async function convertWordVectors(
  input: string,
  output: string,
  options: ConvertWordVectorsOptions = {},
): Promise<ConvertWordVectorsResult> {
  const to = formatForWriting(output, options.outputFormat);
  const vocabPath = join(dirname(output), 'vocab.txt');
  await checkOutputPath(output);
  if (basename(output) === 'vocab.txt')
    throw badFile(output, 'cannot write the table to vocab.txt: that name is the vocabulary written beside it.');
  const vectors = await readWordVectors(input, {
    ...options,
    ...(options.inputFormat !== undefined ? { format: options.inputFormat } : {}),
  });
  const text = vectors.vocabulary.toText();
  const config = resolveConfig({
    inputDim: vectors.vocabulary.size,
    outputDim: vectors.dim,
    name: options.name ?? 'embedding',
    ...(options.maskToken !== undefined ? { maskZero: true } : {}),
  });
  const { inputFormat: _input, outputFormat: _output, ...saveOptions } = options;
  await saveEmbedding(output, { config, weights: vectors.weights }, { ...saveOptions, format: to });
  await atomicWrite(vocabPath, new TextEncoder().encode(text));
  return { from: vectors.format, to, inputDim: config.inputDim, outputDim: config.outputDim, vocabPath };
}
