import { UnknownTokenError } from '../unknown-token-error.js';
import { showValue } from '../util/json.js';

/** Reserved rows of a {@link Vocabulary}, as Keras's `TextVectorization` / `StringLookup` lay them out. */
export interface VocabularyOptions {
  /**
   * Reserve row 0 for padding, as the token given (Keras's `mask_token`; `''` is usual). Use
   * with `maskZero: true` on the layer. Default: no mask row.
   */
  readonly maskToken?: string;
  /**
   * Reserve a row for out-of-vocabulary tokens (Keras's `oov_token`, `'[UNK]'`), right after the
   * mask row: tokens not in the vocabulary map to it. Without it, an unknown token is an error.
   */
  readonly oovToken?: string;
}

/**
 * Maps tokens to rows of an embedding table. Rows: the mask row (0) when `maskToken` is set,
 * then the OOV row when `oovToken` is set, then the words in order. Out-of-vocabulary rule: an
 * unknown token maps to the OOV row when there is one, and is an `InvalidIndexError` naming the
 * token otherwise. A word listed twice in a file keeps its first row (the later row stays in
 * the table but no token maps to it).
 */
export class Vocabulary {
  private readonly index = new Map<string, number>();
  /** Tokens by row (reserved tokens first). */
  readonly tokens: readonly string[];
  /** Number of reserved rows before the first word (0, 1 or 2). */
  readonly reserved: number;
  /** Row of the mask token, or undefined. */
  readonly maskIndex: number | undefined;
  /** Row of out-of-vocabulary tokens, or undefined. */
  readonly oovIndex: number | undefined;

  constructor(words: readonly string[], options: VocabularyOptions = {}) {
    const reservedTokens: string[] = [];
    if (options.maskToken !== undefined) reservedTokens.push(options.maskToken);
    if (options.oovToken !== undefined) reservedTokens.push(options.oovToken);
    this.reserved = reservedTokens.length;
    this.maskIndex = options.maskToken !== undefined ? 0 : undefined;
    this.oovIndex = options.oovToken !== undefined ? this.reserved - 1 : undefined;
    this.tokens = [...reservedTokens, ...words];
    this.tokens.forEach((token, i) => {
      if (!this.index.has(token)) this.index.set(token, i);
    });
  }

  /** Number of reserved rows the options ask for (before any word). */
  static reservedRows(options: VocabularyOptions): number {
    return (options.maskToken !== undefined ? 1 : 0) + (options.oovToken !== undefined ? 1 : 0);
  }

  /** Number of rows (`input_dim`). */
  get size(): number {
    return this.tokens.length;
  }

  /** The row of `token` (the OOV row for an unknown token, when there is one; else an {@link UnknownTokenError}). */
  indexOf(token: string, position = 0): number {
    const row = this.index.get(token);
    if (row !== undefined) return row;
    if (this.oovIndex !== undefined) return this.oovIndex;
    throw new UnknownTokenError(
      token,
      position,
      `token ${position}, ${showValue(token, 80)}, is not in the vocabulary of ${this.size} tokens and no oovToken row was reserved; pass oovToken (e.g. '[UNK]') to map unknown tokens to a row.`,
    );
  }

  /** Rows of a sequence of tokens, ready for `layer.predict`. */
  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.indexOf(tokens[i]!, i);
    return out;
  }

  /**
   * The vocabulary as `vocab.txt` (one token per row, row i on line i + 1, as Keras's
   * `get_vocabulary()` lists it). A token holding a newline cannot be written this way (a
   * word2vec binary file may hold one): an UnknownTokenError naming it.
   */
  toText(): string {
    const bad = this.tokens.findIndex((t) => /[\n\r]/.test(t));
    if (bad >= 0)
      throw new UnknownTokenError(
        this.tokens[bad]!,
        bad,
        `token ${bad}, ${showValue(this.tokens[bad]!, 80)}, holds a line break and cannot be written one per line to vocab.txt.`,
      );
    return `${this.tokens.join('\n')}\n`;
  }
}
