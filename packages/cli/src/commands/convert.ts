import { stat } from 'node:fs/promises';
import {
  convertEmbedding,
  convertWordVectors,
  isWordVectorsPath,
  MODEL_FORMATS,
  type ModelFormat,
  type WordVectorFormat,
} from '@embedding-layer/io';
import type { Command } from 'commander';
import { reportError } from './inspect.js';

/** Files above this size get a progress bar (when stderr is a terminal). */
export const PROGRESS_THRESHOLD_BYTES = 4 * 1024 * 1024;

/**
 * A one-line progress bar on a TTY stream (`[#####.....]  42% reading 12.0/28.6 MB`); does
 * nothing when the stream is not a terminal, so logs and pipes stay clean.
 */
export class ProgressBar {
  private last = -1;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {}

  /** Redraws the bar when the whole percentage changes. */
  update(label: string, done: number, total: number): void {
    if (!this.stream.isTTY || total <= 0) return;
    const fraction = Math.min(1, done / total);
    const percent = Math.floor(fraction * 100);
    if (percent === this.last) return;
    this.last = percent;
    const filled = Math.round(fraction * this.width);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    this.stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${String(percent).padStart(3)}% ${label} ${mb(done)}/${mb(total)} MB`,
    );
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.stream.isTTY && this.last >= 0) this.stream.write('\n');
    this.last = -1;
  }
}

const WORD_VECTOR_FORMATS: readonly WordVectorFormat[] = ['glove', 'word2vec', 'word2vec-binary', 'fasttext'];

/** Options of the `convert` command. */
export interface ConvertCommandOptions {
  layer?: string;
  from?: ModelFormat | WordVectorFormat;
  limit?: string;
  maskToken?: string;
  oovToken?: string;
  to?: ModelFormat;
  inputDim?: string;
  outputDim?: string;
}

/** Registers `embedding-layer convert IN OUT [--layer NAME] [--from F] [--to F]` on a commander program. */
export function registerConvert(program: Command): Command {
  return program
    .command('convert')
    .description(
      `Convert an Embedding layer between model files (${MODEL_FORMATS.join(', ')}), or word vectors (GloVe .txt, word2vec .txt/.bin, fastText .vec) into one plus a vocab.txt beside it; the output format comes from its extension.`,
    )
    .argument('<input>', 'the model file to read')
    .argument('<output>', 'the file to write (.h5, .keras, model.json, .onnx, .npy, .safetensors)')
    .option('--layer <name>', 'the Embedding layer to convert, when the input holds several')
    .option('--from <format>', `input format, when detection is not enough (${[...MODEL_FORMATS, ...WORD_VECTOR_FORMATS].join(', ')})`)
    .option('--to <format>', 'output format, when the extension does not say it')
    .option('--input-dim <n>', 'input_dim for inputs without a config (checked against the matrix)')
    .option('--output-dim <n>', 'output_dim for inputs without a config (checked against the matrix)')
    .option('--limit <n>', 'word vectors (.txt, .vec, .bin): read only the first n vectors')
    .option('--mask-token <token>', "word vectors: reserve row 0 for padding as this token (e.g. '') and set mask_zero")
    .option('--oov-token <token>', "word vectors: reserve a row for unknown tokens (e.g. '[UNK]')")
    .action(async (input: string, output: string, opts: ConvertCommandOptions) => {
      const bar = new ProgressBar();
      try {
        const size = await stat(input).then(
          (s) => s.size,
          () => 0,
        );
        const from = opts.from;
        if (WORD_VECTOR_FORMATS.includes(from as WordVectorFormat) || (from === undefined && isWordVectorsPath(input))) {
          const result = await convertWordVectors(input, output, {
            ...(from !== undefined ? { inputFormat: from as WordVectorFormat } : {}),
            ...(opts.to !== undefined ? { outputFormat: opts.to as ModelFormat } : {}),
            ...(opts.limit !== undefined ? { limit: Number(opts.limit) } : {}),
            ...(opts.maskToken !== undefined ? { maskToken: opts.maskToken } : {}),
            ...(opts.oovToken !== undefined ? { oovToken: opts.oovToken } : {}),
            ...(size > PROGRESS_THRESHOLD_BYTES ? { onProgress: (done: number, total: number) => bar.update('reading', done, total) } : {}),
          });
          bar.done();
          console.log(
            `${input} (${result.from}) -> ${output} (${result.to}): [${result.inputDim}, ${result.outputDim}], vocabulary in ${result.vocabPath}`,
          );
          return;
        }
        const config = {
          ...(opts.inputDim !== undefined ? { inputDim: Number(opts.inputDim) } : {}),
          ...(opts.outputDim !== undefined ? { outputDim: Number(opts.outputDim) } : {}),
        };
        const result = await convertEmbedding(input, output, {
          ...(opts.layer !== undefined ? { layer: opts.layer } : {}),
          ...(opts.from !== undefined ? { inputFormat: opts.from as ModelFormat } : {}),
          ...(opts.to !== undefined ? { format: opts.to } : {}),
          ...(Object.keys(config).length > 0 ? { config } : {}),
          ...(size > PROGRESS_THRESHOLD_BYTES ? { onProgress: (done: number, total: number) => bar.update('reading', done, total) } : {}),
        });
        bar.done();
        const r = result.record;
        console.log(`${input} (${result.from}) -> ${output} (${result.to}): ${r.name} [${r.inputDim}, ${r.outputDim}]`);
      } catch (error) {
        bar.done();
        reportError(error);
      }
    });
}
