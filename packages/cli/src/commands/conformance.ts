import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CONFORMANCE_CASES, CONFORMANCE_GROUPS, capabilitiesOf, runConformance } from '@embedding-layer/conformance';
import type { Command } from 'commander';
import { type LoadedBackend, loadBackends } from '../backends.js';
import {
  type ConformanceMatrix,
  formatMatrixMarkdown,
  formatMatrixText,
  type MatrixBackend,
  matrixFailures,
  matrixPassed,
} from '../conformance-report.js';
import { loadModuleFactory } from '../module-factory.js';
import { parseBackendNames, parseChoices, UsageError } from '../options.js';

/** Options of `embedding-layer conformance`, as commander parses them. */
export interface ConformanceCommandOptions {
  backend?: string;
  module?: string;
  factory?: string;
  group?: string;
  /** A path, or `true` for stdout. */
  json?: string | boolean;
  /** A path, or `true` for stdout. */
  markdown?: string | boolean;
  tolerance?: string;
}

/** Options of {@link runConformanceMatrix}. */
export interface RunMatrixOptions {
  /** Only these groups (default: all). */
  groups?: readonly string[];
  /** Largest accepted |difference| of float outputs (default 0: bitwise). */
  tolerance?: number;
  /** Called when a backend starts and after each case, e.g. for progress. */
  onProgress?: (backend: string, done: number, total: number) => void;
}

/**
 * Runs every conformance case (of the chosen groups) against each backend, outside any test
 * runner, and collects the matrix. A backend that is missing stays a column with its reason.
 */
export async function runConformanceMatrix(backends: readonly LoadedBackend[], options: RunMatrixOptions = {}): Promise<ConformanceMatrix> {
  const cases = CONFORMANCE_CASES.filter((c) => !options.groups || options.groups.includes(c.group));
  const columns: MatrixBackend[] = [];
  for (const b of backends) {
    if ('missing' in b) {
      columns.push({ name: b.name, missing: b.missing });
      continue;
    }
    let supports: Readonly<Record<string, unknown>>;
    try {
      supports = { ...(await capabilitiesOf(b.create)) };
    } catch (error) {
      columns.push({ name: b.name, missing: `failed to load: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    const start = performance.now();
    let done = 0;
    options.onProgress?.(b.name, 0, cases.length);
    const results = await runConformance({
      createBackend: b.create,
      ...(options.groups ? { groups: options.groups } : {}),
      ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
      onResult: () => options.onProgress?.(b.name, ++done, cases.length),
    });
    columns.push({ name: b.name, supports: { ...supports }, results, ms: performance.now() - start });
  }
  return {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cases: cases.map((c) => ({ id: c.id, group: c.group, title: c.title, ...(c.requires ? { requires: c.requires } : {}) })),
    backends: columns,
  };
}

async function output(target: string | boolean | undefined, text: string): Promise<boolean> {
  if (target === undefined || target === false) return false;
  if (target === true) {
    process.stdout.write(`${text}\n`);
    return true;
  }
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, `${text}\n`);
  process.stderr.write(`wrote ${target}\n`);
  return false;
}

function progress(): (backend: string, done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  return (backend, done, total) => {
    if (tty) {
      process.stderr.write(`\r${backend}: ${done}/${total} cases${done === total ? '\n' : ''}`);
    } else if (done === total) {
      process.stderr.write(`${backend}: ${total} cases run\n`);
    }
  };
}

/** Resolves the command's options into the backends to run; throws {@link UsageError} for bad values. */
export async function backendsFor(options: ConformanceCommandOptions): Promise<{ backends: LoadedBackend[]; requested: string[] }> {
  if (options.factory !== undefined && options.module === undefined) throw new UsageError('--factory needs --module PKG.');
  const requested = options.backend !== undefined ? parseBackendNames(options.backend) : [];
  const backends: LoadedBackend[] = [];
  if (options.backend !== undefined || options.module === undefined)
    backends.push(...(await loadBackends(options.backend ? requested : undefined)));
  if (options.module !== undefined) {
    const custom = await loadModuleFactory(options.module, options.factory);
    backends.push(custom);
    requested.push(custom.name);
  }
  return { backends, requested };
}

/**
 * Registers `embedding-layer conformance`: the conformance matrix of every installed backend
 * (or `--backend` ones, or a third-party `--module PKG --factory NAME`); exit code 1 on any
 * failure, or when a backend named on the command line is missing.
 */
export function registerConformance(program: Command): void {
  program
    .command('conformance')
    .description('Run every conformance case against every installed backend and print the matrix (exit 1 on any failure).')
    .option('--backend <names>', 'comma-separated backends: js, tfjs-cpu (alias tfjs), tfjs-wasm, onnx (default: all installed)')
    .option('--module <pkg>', "a third-party backend package (or a path to its entry file) to test instead of this repository's")
    .option('--factory <name>', 'the factory export of --module, e.g. createMyBackend (default: its only create...Backend export)')
    .option('--group <names>', `only these groups: ${CONFORMANCE_GROUPS.join(', ')}`)
    .option('--tolerance <x>', 'largest accepted |difference| of float outputs (default 0: bit for bit)')
    .option('--json [file]', 'write the results as JSON to file (stdout without a file)')
    .option('--markdown [file]', 'write the matrix as Markdown to file (stdout without a file)')
    .addHelpText(
      'after',
      '\nExamples:\n  embedding-layer conformance\n  embedding-layer conformance --backend js,tfjs --markdown matrix.md\n  embedding-layer conformance --module my-embedding-adapter --factory createMyBackend',
    )
    .action(async (options: ConformanceCommandOptions) => {
      try {
        const groups = options.group !== undefined ? parseChoices('--group', options.group, CONFORMANCE_GROUPS) : undefined;
        const tolerance = options.tolerance !== undefined ? Number(options.tolerance) : undefined;
        if (tolerance !== undefined && !(tolerance >= 0))
          throw new UsageError(`--tolerance must be a number >= 0, received ${options.tolerance}.`);
        const { backends, requested } = await backendsFor(options);
        const matrix = await runConformanceMatrix(backends, {
          ...(groups ? { groups } : {}),
          ...(tolerance !== undefined ? { tolerance } : {}),
          onProgress: progress(),
        });
        const toStdout = [
          await output(options.json, JSON.stringify(matrix, null, 2)),
          await output(options.markdown, formatMatrixMarkdown(matrix)),
        ].some(Boolean);
        if (!toStdout) console.log(formatMatrixText(matrix));
        const missingRequested = matrix.backends.filter((b) => b.missing !== undefined && requested.includes(b.name));
        for (const b of missingRequested) process.stderr.write(`error: backend ${b.name} was requested but is ${b.missing}\n`);
        if (!matrixPassed(matrix) || missingRequested.length > 0) {
          const failures = matrixFailures(matrix).length;
          if (failures > 0) process.stderr.write(`${failures} conformance failure(s).\n`);
          process.exitCode = 1;
        }
      } catch (error) {
        if (error instanceof UsageError) {
          process.stderr.write(`error: ${error.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
    });
}
