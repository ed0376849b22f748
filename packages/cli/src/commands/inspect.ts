import { EmbeddingError } from '@embedding-layer/core';
import { type EmbeddingSummary, inspectModel, MODEL_FORMATS, type ModelFormat } from '@embedding-layer/io';
import type { Command } from 'commander';

function formatInputLength(layer: EmbeddingSummary): string {
  if (!('inputLength' in layer) || layer.inputLength === undefined) return 'unknown';
  if (layer.inputLength === null) return '-';
  return typeof layer.inputLength === 'number' ? String(layer.inputLength) : JSON.stringify(layer.inputLength);
}

/**
 * Formats `embedding-layer inspect` output: one row per Embedding table (name, dims,
 * input_length (`-`: any length), mask_zero, stored dtype, bytes, location); `unknown` where the
 * file holds no layer config.
 */
export function formatInspect(file: string, format: ModelFormat, layers: readonly EmbeddingSummary[]): string {
  const header = ['name', 'input_dim', 'output_dim', 'input_length', 'mask_zero', 'dtype', 'bytes', 'location'];
  const rows = layers.map((l) => [
    l.name,
    String(l.inputDim),
    String(l.outputDim),
    formatInputLength(l),
    l.maskZero === null ? 'unknown' : String(l.maskZero),
    l.dtype,
    String(l.bytes),
    l.location,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const left = new Set([0, 5, 7]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [`${file} (${format}): ${layers.length} Embedding layer${layers.length === 1 ? '' : 's'}`, line(header), ...rows.map(line)];
  if (layers.some((l) => !l.hasConfig))
    lines.push('unknown: not in the file, which holds no layer config for that table (its dims come from the matrix).');
  return lines.join('\n');
}

/** Prints an error from a command: our typed errors by message, anything else with its stack. Sets exit code 1. */
export function reportError(error: unknown): void {
  if (EmbeddingError.isInstance(error)) console.error(`error (${error.code}): ${error.message}`);
  else console.error(error instanceof Error ? `error: ${error.message}` : `error: ${String(error)}`);
  process.exitCode = 1;
}

/** Registers `embedding-layer inspect FILE [--layer NAME] [--format F] [--json]` on a commander program. */
export function registerInspect(program: Command): Command {
  return program
    .command('inspect')
    .description('List the Embedding layers of a model file (.h5, .keras, model.json, .onnx, .npy, .safetensors).')
    .argument('<file>', 'the model file')
    .option('--layer <name>', 'show only this Embedding layer (a name, or a location as listed)')
    .option('--format <format>', `input format, when detection is not enough (${MODEL_FORMATS.join(', ')})`)
    .option('--json', 'print JSON instead of a table')
    .action(async (file: string, opts: { layer?: string; format?: ModelFormat; json?: boolean }) => {
      try {
        const layers = await inspectModel(file, {
          ...(opts.format ? { format: opts.format } : {}),
          ...(opts.layer !== undefined ? { layer: opts.layer } : {}),
        });
        console.log(opts.json ? JSON.stringify(layers, null, 2) : formatInspect(file, layers[0]!.format, layers));
      } catch (error) {
        reportError(error);
      }
    });
}
