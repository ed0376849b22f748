import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { badFile } from '../errors.js';
import type { ProgressCallback } from '../types.js';
import { fileSize } from '../util/fs.js';
import { showValue } from '../util/json.js';
import { Vocabulary, type VocabularyOptions } from './vocabulary.js';

/*
 * Pretrained word vectors in the formats their tools write:
 *
 * - GloVe (`glove.6B.50d.txt`): one `word v1 ... vD` line per word, no header.
 * - word2vec text (`-binary 0`) and fastText `.vec`: the same lines after a `count dim` header.
 * - word2vec binary (`-binary 1`, `.bin`): the `count dim\n` header, then per word its bytes up
 *   to a space and `dim` little-endian float32 values (an optional `\n` after each).
 *
 * Files of gigabytes stream through a 4 MiB buffer: memory is the table itself (allocated once,
 * at its final size: from the header, or from a first pass that counts lines) plus the words.
 */

/** A word-vector file format. */
export type WordVectorFormat = 'glove' | 'word2vec' | 'word2vec-binary' | 'fasttext';

/** Options of {@link readWordVectors}. */
export interface ReadWordVectorsOptions extends VocabularyOptions {
  /** The file's format. Default: `.bin` is word2vec binary; otherwise a `count dim` first line means word2vec text / fastText, and none GloVe. */
  readonly format?: WordVectorFormat;
  /** Read at most this many vectors (the first ones: these files list frequent words first). */
  readonly limit?: number;
  /** Called as bytes are read, for progress bars. */
  readonly onProgress?: ProgressCallback;
}

/** Word vectors read from a file: the vocabulary and the table, ready for `Embedding.create({ inputDim: weights.length / dim, outputDim: dim }, { weights: [weights] })`. */
export interface WordVectors {
  /** Maps tokens to rows (with the reserved mask / OOV rows first when asked for). */
  readonly vocabulary: Vocabulary;
  /** The words in file order (row `vocabulary.reserved + i` holds `words[i]`). */
  readonly words: readonly string[];
  /** Dimension of each vector (`output_dim`). */
  readonly dim: number;
  /** Row-major (`vocabulary.size`, `dim`) float32 table; reserved rows are zeros. */
  readonly weights: Float32Array;
  /** The format read. */
  readonly format: WordVectorFormat;
}

const CHUNK = 4 * 1024 * 1024;
/** Longest line or word accepted (a GloVe 300-d line is about 3 KB): a file without newlines cannot grow the buffer without bound. */
const MAX_LINE_BYTES = 1024 * 1024;

/** Reads a file front to back in chunks: lines (text) or bytes up to a delimiter / of a length (binary). */
class ByteReader {
  private buffer = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private position = 0;
  private done = false;
  private constructor(
    private readonly handle: Awaited<ReturnType<typeof open>>,
    readonly size: number,
    private readonly onProgress?: ProgressCallback,
  ) {}
  static async open(path: string, onProgress?: ProgressCallback): Promise<ByteReader> {
    const size = await fileSize(path);
    const handle = await open(path, 'r');
    return new ByteReader(handle, size, onProgress);
  }
  close(): Promise<void> {
    return this.handle.close();
  }
  private async fill(): Promise<boolean> {
    if (this.done) return false;
    // The unread bytes move to the front; the buffer is replaced only when they fill half of it
    // (a line longer than that), so a file streams through one 4 MiB buffer.
    const keep = this.end - this.start;
    const wanted = Math.max(CHUNK, keep * 2);
    if (this.buffer.length < wanted) {
      const next = new Uint8Array(wanted);
      next.set(this.buffer.subarray(this.start, this.end));
      this.buffer = next;
    } else this.buffer.copyWithin(0, this.start, this.end);
    this.start = 0;
    this.end = keep;
    const want = Math.min(this.buffer.length - keep, this.size - this.position);
    const { bytesRead } = want > 0 ? await this.handle.read(this.buffer, keep, want, this.position) : { bytesRead: 0 };
    this.position += bytesRead;
    this.end = keep + bytesRead;
    this.onProgress?.(this.position, this.size);
    if (bytesRead === 0) this.done = true;
    return bytesRead > 0;
  }
  /** Bytes up to (not including) `delimiter`, which is consumed; at the end of the file, what is left (or null when nothing is). */
  async until(delimiter: number, limit = MAX_LINE_BYTES): Promise<Uint8Array | null> {
    let from = 0;
    for (;;) {
      const at = this.buffer.subarray(this.start + from, this.end).indexOf(delimiter);
      if (at >= 0) {
        const out = this.buffer.subarray(this.start, this.start + from + at);
        this.start += from + at + 1;
        return out;
      }
      from = this.end - this.start;
      if (from > limit) return this.buffer.subarray(this.start, this.start + limit + 1);
      if (!(await this.fill())) {
        if (this.end === this.start) return null;
        const out = this.buffer.subarray(this.start, this.end);
        this.start = this.end;
        return out;
      }
    }
  }
  /** Exactly `n` bytes, or null when the file ends first. */
  async take(n: number): Promise<Uint8Array | null> {
    while (this.end - this.start < n) if (!(await this.fill())) return null;
    const out = this.buffer.subarray(this.start, this.start + n);
    this.start += n;
    return out;
  }
  /** Skips one byte if it is `byte`. */
  async skip(byte: number): Promise<void> {
    if (this.end === this.start && !(await this.fill())) return;
    if (this.buffer[this.start] === byte) this.start++;
  }
}

const utf8 = new TextDecoder('utf-8');

/** Counts the lines of a text file (bytes `\n`, plus a last line without one). */
async function countLines(path: string): Promise<number> {
  const size = await fileSize(path);
  const handle = await open(path, 'r');
  try {
    const chunk = new Uint8Array(CHUNK);
    let lines = 0;
    let last = 0x0a;
    for (let position = 0; position < size; ) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK, size - position), position);
      if (bytesRead === 0) break;
      for (let i = 0; i < bytesRead; i++) if (chunk[i] === 0x0a) lines++;
      last = chunk[bytesRead - 1]!;
      position += bytesRead;
    }
    return last === 0x0a ? lines : lines + 1;
  } finally {
    await handle.close();
  }
}

/** A `count dim` header line, or undefined when the line is not one. */
function parseHeader(line: string): { count: number; dim: number } | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
  return m ? { count: Number(m[1]), dim: Number(m[2]) } : undefined;
}

function checkLimit(path: string, limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(limit) || limit < 1) throw badFile(path, `limit must be a positive integer, received ${showValue(limit)}.`);
  return limit;
}

/**
 * Reads GloVe `.txt`, word2vec text or binary (`.bin`) and fastText `.vec` word vectors,
 * streaming: a ragged line, a bad header or a non-finite value is a BadFileError with the line
 * (or, for binary files, the vector) number and the word. `options.maskToken` / `oovToken`
 * reserve rows 0 and 1 as Keras's `TextVectorization` does (see {@link Vocabulary}).
 *
 * @example
 * ```ts
 * const { vocabulary, dim, weights } = await readWordVectors('glove.6B.50d.txt', { limit: 20000, maskToken: '', oovToken: '[UNK]' });
 * const layer = await Embedding.create({ inputDim: vocabulary.size, outputDim: dim, maskZero: true }, { backend: createJsBackend(), weights: [weights] });
 * await layer.predict([vocabulary.encode(['the', 'cat', 'sat'])]);
 * ```
 */
export async function readWordVectors(path: string, options: ReadWordVectorsOptions = {}): Promise<WordVectors> {
  const limit = checkLimit(path, options.limit);
  const reserved = Vocabulary.reservedRows(options);
  const reader = await ByteReader.open(path, options.onProgress);
  try {
    const binary = options.format === 'word2vec-binary' || (options.format === undefined && extname(path).toLowerCase() === '.bin');
    const first = await reader.until(0x0a);
    if (first === null) throw badFile(path, 'the file is empty; expected word vectors.');
    const firstLine = utf8.decode(first).replace(/\r$/, '');
    const header = parseHeader(firstLine);
    if (binary || options.format === 'word2vec' || options.format === 'fasttext') {
      if (!header)
        throw badFile(
          path,
          `line 1: expected the header "<count> <dim>" of a ${binary ? 'word2vec binary' : (options.format ?? 'word2vec')} file, found ${showValue(firstLine.slice(0, 80))}.`,
        );
    }
    if (header && options.format === 'glove')
      throw badFile(
        path,
        `line 1: ${showValue(firstLine.slice(0, 80))} is a word2vec/fastText header; GloVe files have none (pass format 'word2vec' or 'fasttext').`,
      );
    const format: WordVectorFormat = binary
      ? 'word2vec-binary'
      : header
        ? (options.format ?? (extname(path).toLowerCase() === '.vec' ? 'fasttext' : 'word2vec'))
        : 'glove';
    if (header) {
      if (header.dim < 1 || header.count < 1)
        throw badFile(path, `line 1: the header claims ${header.count} vectors of ${header.dim} values; both must be positive.`);
      // Every value takes at least 4 bytes (binary) or 2 (text: a digit and a separator).
      const perVector = binary ? header.dim * 4 + 2 : header.dim * 2 + 2;
      if (Math.min(header.count, limit) * perVector > reader.size)
        throw badFile(
          path,
          `line 1: the header claims ${header.count} vectors of ${header.dim} values, more than the ${reader.size}-byte file can hold.`,
        );
    }
    const rows = header ? Math.min(header.count, limit) : Math.min(limit, await countLines(path));
    const dim = header ? header.dim : firstLine.trim().split(/\s+/).length - 1;
    if (!header && dim < 1) throw badFile(path, `line 1: expected "word v1 ... vD", found ${showValue(firstLine.slice(0, 80))}.`);
    const weights = new Float32Array((rows + reserved) * dim);
    const words: string[] = [];
    if (binary) {
      const view = new DataView(new ArrayBuffer(dim * 4));
      const bytes = new Uint8Array(view.buffer);
      while (words.length < rows) {
        await reader.skip(0x0a);
        const n = words.length + 1;
        const wordBytes = await reader.until(0x20, 4096);
        if (wordBytes === null || wordBytes.length > 4096)
          throw badFile(
            path,
            `vector ${n}: ${wordBytes === null ? `the file ends; the header claims ${header!.count} vectors` : 'a word longer than 4096 bytes (not a word2vec binary file?)'}.`,
          );
        const word = utf8.decode(wordBytes);
        const values = await reader.take(dim * 4);
        if (values === null)
          throw badFile(path, `vector ${n} (${showValue(word.slice(0, 80))}): the file ends inside its ${dim} values (truncated).`);
        bytes.set(values);
        const row = (reserved + words.length) * dim;
        for (let j = 0; j < dim; j++) {
          const v = view.getFloat32(j * 4, true);
          if (!Number.isFinite(v))
            throw badFile(path, `vector ${n} (${showValue(word.slice(0, 80))}): value ${j + 1} is ${v}; expected finite values.`);
          weights[row + j] = v;
        }
        words.push(word);
      }
    } else {
      let lineNumber = header ? 1 : 0;
      let line: string | null = header ? null : firstLine;
      while (words.length < rows) {
        if (line === null) {
          const bytes = await reader.until(0x0a);
          if (bytes === null) break;
          if (bytes.length > MAX_LINE_BYTES)
            throw badFile(path, `line ${lineNumber + 1}: longer than ${MAX_LINE_BYTES} bytes; not a word-vector file?`);
          line = utf8.decode(bytes);
        }
        lineNumber++;
        const text = line.replace(/\r$/, '');
        line = null;
        if (text.trim() === '') {
          if (header || lineNumber < rows) throw badFile(path, `line ${lineNumber}: empty; expected "word v1 ... v${dim}".`);
          break;
        }
        const parts = text.trim().split(/\s+/);
        const word = parts[0]!;
        if (parts.length !== dim + 1)
          throw badFile(
            path,
            `line ${lineNumber} (${showValue(word.slice(0, 80))}): ${parts.length - 1} values, expected ${dim} (a ragged line).`,
          );
        const row = (reserved + words.length) * dim;
        for (let j = 0; j < dim; j++) {
          const v = Number(parts[j + 1]);
          if (!Number.isFinite(v))
            throw badFile(
              path,
              `line ${lineNumber} (${showValue(word.slice(0, 80))}): value ${j + 1} is ${showValue(parts[j + 1]!.slice(0, 40))}; expected a finite number.`,
            );
          weights[row + j] = v;
        }
        words.push(word);
      }
      if (header && words.length < rows)
        throw badFile(path, `the header claims ${header.count} vectors, the file holds ${words.length} (truncated).`);
    }
    const table = words.length + reserved === weights.length / dim ? weights : weights.slice(0, (words.length + reserved) * dim);
    return { vocabulary: new Vocabulary(words, options), words, dim, weights: table, format };
  } finally {
    await reader.close();
  }
}
