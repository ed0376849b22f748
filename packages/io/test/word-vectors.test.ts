import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BadFileError } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWordVectors } from '../src/formats/word-vectors.js';
import { UnknownTokenError } from '../src/unknown-token-error.js';
import { makeTempDir } from './tmp.js';

/*
 * Word vectors in the layouts GloVe, word2vec (text and binary) and fastText write. The files
 * are written here from decimal strings (text) or float32 bit patterns (binary); expected values
 * are those literals rounded to float32 by Math.fround, independently of the reader.
 */

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-word-vectors-');
});
afterAll(() => tmp.cleanup());

const WORDS = ['the', 'cat', 'sat', 'über'];
const VALUES = [
  ['0.418', '0.24968', '-0.41242', '0.1217'],
  ['-0.15', '1e-3', '2.5E+1', '-0'],
  ['0.33333334', '-1.25', '7', '0.000001'],
  ['0.1', '0.2', '0.3', '-0.4'],
];
const expected = (rows: number) => VALUES.slice(0, rows).flatMap((r) => r.map((v) => Math.fround(Number(v))));

async function put(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(tmp.dir, name);
  await writeFile(path, content);
  return path;
}
const lines = (header: boolean) =>
  `${header ? `${WORDS.length} 4\n` : ''}${WORDS.map((w, i) => `${w} ${VALUES[i]!.join(' ')}`).join('\n')}\n`;

function word2vecBinary(trailingNewline: boolean): Uint8Array {
  const enc = new TextEncoder();
  const parts: number[] = [...enc.encode(`${WORDS.length} 4\n`)];
  WORDS.forEach((w, i) => {
    parts.push(...enc.encode(`${w} `));
    const f = new Float32Array(VALUES[i]!.map(Number));
    parts.push(...new Uint8Array(f.buffer));
    if (trailingNewline) parts.push(0x0a);
  });
  return new Uint8Array(parts);
}

describe('readWordVectors', () => {
  it('GloVe .txt (no header), word2vec text and fastText .vec (count dim header), word2vec binary (with and without newlines)', async () => {
    const files = [
      { path: await put('glove.6B.4d.txt', lines(false)), format: 'glove' },
      { path: await put('w2v.txt', lines(true)), format: 'word2vec' },
      { path: await put('crawl.vec', lines(true).replace(/\n/g, '\r\n')), format: 'fasttext' },
      { path: await put('w2v.bin', word2vecBinary(true)), format: 'word2vec-binary' },
      { path: await put('w2v-nonl.bin', word2vecBinary(false)), format: 'word2vec-binary' },
    ];
    for (const f of files) {
      const v = await readWordVectors(f.path);
      expect(v.format, f.path).toBe(f.format);
      expect(v.dim).toBe(4);
      expect(v.words).toEqual(WORDS);
      expect(Array.from(v.weights)).toEqual(expected(4));
      expect(v.vocabulary.indexOf('über')).toBe(3);
    }
  });

  it('limit reads the first vectors; maskToken and oovToken reserve rows 0 and 1 (zeros), as Keras TextVectorization', async () => {
    const path = await put('glove-limit.txt', lines(false));
    const v = await readWordVectors(path, { limit: 2, maskToken: '', oovToken: '[UNK]' });
    expect(v.vocabulary.tokens).toEqual(['', '[UNK]', 'the', 'cat']);
    expect(v.vocabulary.size).toBe(4);
    expect(Array.from(v.weights)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, ...expected(2)]);
    expect(Array.from(v.vocabulary.encode(['cat', 'the', 'dog', '']))).toEqual([3, 2, 1, 0]);
    expect(v.vocabulary.toText()).toBe('\n[UNK]\nthe\ncat\n');
    const strict = await readWordVectors(path);
    const error = (() => {
      try {
        strict.vocabulary.encode(['the', 'dog']);
      } catch (e) {
        return e;
      }
    })();
    expect(UnknownTokenError.isInstance(error)).toBe(true);
    expect((error as UnknownTokenError).position).toBe(1);
    expect((error as Error).message).toMatch(/token 1, "dog", is not in the vocabulary of 4 tokens/);
  });

  it('a file larger than the read buffer (lines across 4 MiB chunk boundaries) reads whole, with progress', async () => {
    const rows = 40_000;
    const dim = 50;
    const values = Array.from({ length: dim }, (_, j) => ((j * 37) % 101) / 64 - 0.75);
    const text = Array.from({ length: rows }, (_, i) => `w${i} ${values.map((v) => (v + i / 1024).toFixed(7)).join(' ')}`).join('\n');
    const path = await put('big.txt', `${text}\n`);
    const seen: number[] = [];
    const v = await readWordVectors(path, { onProgress: (done) => seen.push(done) });
    expect(v.words.length).toBe(rows);
    expect(seen.length).toBeGreaterThan(2);
    for (const i of [0, 1, 12_345, rows - 1]) {
      const row = Array.from(v.weights.subarray(i * dim, (i + 1) * dim));
      expect(row).toEqual(values.map((x) => Math.fround(Number((x + i / 1024).toFixed(7)))));
    }
  });

  it('bad files: a ragged line, a bad header, a non-finite value, a truncated binary file; each names the line (or vector) and the word', async () => {
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['ragged.txt', 'a 1 2 3\nb 1 2\n', /line 2 \("b"\): 2 values, expected 3 \(a ragged line\)/],
      ['nan.txt', 'a 1 2 3\nb 1 nan 3\n', /line 2 \("b"\): value 2 is "nan"; expected a finite number/],
      ['inf.vec', '2 2\na 1 2\nb inf 1\n', /line 3 \("b"\): value 1 is "inf"/],
      ['header.bin', 'not a header\n', /line 1: expected the header "<count> <dim>" of a word2vec binary file/],
      ['huge.vec', '99999999 300\na 1\n', /the header claims 99999999 vectors of 300 values, more than the \d+-byte file can hold/],
      ['short.vec', '3 2\na 1.000000 2.000000\nb 3.000000 4.000000\n', /the header claims 3 vectors, the file holds 2 \(truncated\)/],
      ['trunc.bin', word2vecBinary(true).subarray(0, 80), /vector 4 \("über"\): the file ends inside its 4 values \(truncated\)/],
      [
        'claims.bin',
        word2vecBinary(true).subarray(0, 40),
        /line 1: the header claims 4 vectors of 4 values, more than the 40-byte file can hold/,
      ],
      ['empty.txt', '', /the file is empty/],
    ];
    for (const [name, content, reason] of cases) {
      const path = await put(name, content);
      const error = await readWordVectors(path).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(BadFileError);
      expect((error as Error).message.startsWith(path), name).toBe(true);
      expect((error as Error).message, name).toMatch(reason);
    }
  });
});
