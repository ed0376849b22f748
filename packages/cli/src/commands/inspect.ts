import { EmbeddingError } from '@embedding-layer/core';
import { type EmbeddingSummary, inspectModel, MODEL_FORMATS, type ModelFormat } from '@embedding-layer/io';
import type { Command } from 'commander';

/** Formats `embedding-layer inspect` output: one row per Embedding layer. */
export function formatInspect(file: string, format: ModelFormat, layers: readonly EmbeddingSummary[]): string {
  const header = ['name', 'input_dim', 'output_dim', 'mask_zero', 'dtype', 'bytes'];
  const rows = layers.map((l) => [l.name, String(l.inputDim), String(l.outputDim), String(l.maskZero), l.dtype, String(l.bytes)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [`${file} (${format}): ${layers.length} Embedding layer${layers.length === 1 ? '' : 's'}`, line(header), ...rows.map(line)].join(
    '\n',
  );
}

/** Prints an error from a command: our typed errors by message, anything else with its stack. Sets exit code 1. */
export function reportError(error: unknown): void {
  if (EmbeddingError.isInstance(error)) console.error(`error (${error.code}): ${error.message}`);
  else console.error(error instanceof Error ? `error: ${error.message}` : `error: ${String(error)}`);
  process.exitCode = 1;
}

/** Registers `embedding-layer inspect FILE [--format F] [--json]` on a commander program. */
export function registerInspect(program: Command): Command {
  return program
    .command('inspect')
    .description('List the Embedding layers of a model file (.h5, .keras, model.json, .onnx, .npy, .safetensors).')
    .argument('<file>', 'the model file')
    .option('--format <format>', `input format, when detection is not enough (${MODEL_FORMATS.join(', ')})`)
    .option('--json', 'print JSON instead of a table')
    .action(async (file: string, opts: { format?: ModelFormat; json?: boolean }) => {
      try {
        const layers = await inspectModel(file, opts.format ? { format: opts.format } : {});
        console.log(opts.json ? JSON.stringify(layers, null, 2) : formatInspect(file, layers[0]!.format, layers));
      } catch (error) {
        reportError(error);
      }
    });
}
