import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { type Command, Option } from 'commander';
import { measureTarget, serveTarget } from '../bench/child.js';
import { progressBar } from '../bench/progress.js';
import { formatBenchMarkdown, formatBenchSvg, replaceReadmeSection } from '../bench/report.js';
import { type ChildSpec, runBench } from '../bench/run.js';
import { PYTHON_ENV, resolvePython } from '../bench/torch.js';
import type { BenchReport, WorkloadName } from '../bench/types.js';
import { TARGETS, WORKLOAD_NAMES, WORKLOADS } from '../bench/workloads.js';
import { parseChoices, UsageError } from '../options.js';

/** Options of `embedding-layer bench`, as commander parses them. */
export interface BenchCommandOptions {
  workload: string;
  target?: string;
  backend?: string;
  outDir: string;
  json?: string;
  markdown?: string;
  svg?: string;
  readme?: string;
  python?: string;
  fromJson?: string;
  child?: string;
  serve?: string;
  paired?: boolean;
}

/** Where `bench` writes its reports, from the options. */
export interface BenchOutputs {
  json: string;
  markdown: string;
  svg: string;
  /** A README whose marked benchmark section is rewritten (only when `--readme` is given). */
  readme?: string;
}

/**
 * Resolves `--workload`, `--backend`, `--target` and the output paths (`--json/--markdown/--svg`,
 * defaulting into `--out-dir`). `--backend redis,js` measures those backends with their raw
 * peers and the copy limits (as `conformance --backend` names backends); `--target` names exact
 * targets; given both, the union.
 */
export function parseBenchOptions(
  options: BenchCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
): { workloads: WorkloadName[]; targets?: string[]; python: string; outputs: BenchOutputs } {
  const workloads = parseChoices('--workload', options.workload, WORKLOAD_NAMES);
  let targets =
    options.target !== undefined
      ? parseChoices(
          '--target',
          options.target,
          TARGETS.map((t) => t.id),
        )
      : undefined;
  if (options.backend !== undefined) {
    const backends = parseChoices(
      '--backend',
      options.backend,
      TARGETS.filter((t) => t.kind === 'backend').map((t) => t.id),
    );
    const chosen = TARGETS.filter(
      (t) => t.kind === 'limit' || backends.includes(t.id) || (t.kind === 'peer' && (t.peerOf ?? []).some((p) => backends.includes(p))),
    ).map((t) => t.id);
    const union = new Set([...(targets ?? []), ...chosen]);
    targets = TARGETS.map((t) => t.id).filter((id) => union.has(id));
  }
  return {
    workloads,
    ...(targets ? { targets } : {}),
    python: resolvePython(options.python, env),
    outputs: {
      json: options.json ?? join(options.outDir, 'bench.json'),
      markdown: options.markdown ?? join(options.outDir, 'bench.md'),
      svg: options.svg ?? join(options.outDir, 'bench.svg'),
      ...(options.readme ? { readme: options.readme } : {}),
    },
  };
}

async function write(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** The README section: the chart (linked relative to the README) and the Markdown report. */
export function readmeSection(readmePath: string, svgPath: string, markdown: string): string {
  const link = relative(dirname(readmePath), svgPath).split(sep).join('/');
  return `![Median lookup time over the copy limit, per workload and backend (log scale)](${link})\n\n${markdown}`;
}

/** The child side: measure one (workload, target) and send it to the parent over IPC. */
async function runChildSpec(json: string): Promise<void> {
  const spec = JSON.parse(json) as ChildSpec;
  const result = await measureTarget(WORKLOADS[spec.workload], spec.target);
  await new Promise<void>((resolve) => (process.send ? process.send(result, () => resolve()) : resolve()));
  if (!process.send) console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}

/**
 * Registers `embedding-layer bench`: every backend through the public API, the raw peers and
 * the copy limit, on workloads S, M, L, XL, each (workload, target) in its own process; writes
 * JSON, Markdown and an SVG chart (default into `bench/results/`).
 */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'Measure every installed backend, its raw peers and the copy limit on workloads S, M, L, XL; write JSON, Markdown and SVG.',
    )
    .option(
      '--workload <names>',
      `comma-separated workloads: ${WORKLOAD_NAMES.map((n) => `${n} (${WORKLOADS[n].inputDim}x${WORKLOADS[n].outputDim}, ${WORKLOADS[n].batch}x${WORKLOADS[n].sequence})`).join(', ')}`,
      'S,M,L,XL',
    )
    .option(
      '--backend <names>',
      `only these backends (with their raw peers and the copy limits): ${TARGETS.filter((t) => t.kind === 'backend')
        .map((t) => t.id)
        .join(', ')}; redis needs EMBEDDING_LAYER_REDIS_NODES`,
    )
    .option('--target <ids>', `only these targets: ${TARGETS.map((t) => t.id).join(', ')} (default: all)`)
    .option('--out-dir <dir>', 'directory of the reports not given a path below', 'bench/results')
    .option('--json <file>', 'JSON results (default <out-dir>/bench.json)')
    .option('--markdown <file>', 'Markdown tables (default <out-dir>/bench.md)')
    .option('--svg <file>', 'SVG chart of the ratios to the copy limit (default <out-dir>/bench.svg)')
    .option('--readme <file>', 'also rewrite the marked benchmark section of this README (chart and Markdown report)')
    .option('--from-json <file>', 'measure nothing: write the reports (and --readme) again from the JSON of an earlier run')
    .option('--python <path>', `Python interpreter with torch for the PyTorch peer (default $${PYTHON_ENV}, else python3)`)
    .option('--no-paired', 'skip the goal ratios measured with both targets alive and their calls alternating in rounds')
    .addOption(new Option('--child <spec>', 'internal: measure one (workload, target) and report over IPC').hideHelp())
    .addOption(new Option('--serve <spec>', 'internal: hold one (workload, target) and time calls on request over IPC').hideHelp())
    .action(async (options: BenchCommandOptions) => {
      if (options.child !== undefined) return runChildSpec(options.child);
      if (options.serve !== undefined) return serveTarget(JSON.parse(options.serve));
      let parsed: ReturnType<typeof parseBenchOptions>;
      try {
        parsed = parseBenchOptions(options);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`error: ${error.message}\n`);
        process.exitCode = 2;
        return;
      }
      const report: BenchReport = options.fromJson
        ? (JSON.parse(await readFile(options.fromJson, 'utf8')) as BenchReport)
        : await runBench({
            workloads: parsed.workloads,
            ...(parsed.targets ? { targets: parsed.targets } : {}),
            python: parsed.python,
            paired: options.paired !== false,
            onProgress: progressBar(),
          });
      const markdown = formatBenchMarkdown(report);
      await write(parsed.outputs.json, `${JSON.stringify(report, null, 2)}\n`);
      await write(parsed.outputs.markdown, `${markdown}\n`);
      await write(parsed.outputs.svg, formatBenchSvg(report));
      const { readme } = parsed.outputs;
      if (readme) {
        await writeFile(readme, replaceReadmeSection(await readFile(readme, 'utf8'), readmeSection(readme, parsed.outputs.svg, markdown)));
      }
      console.log(markdown);
      process.stderr.write(
        `\nwrote ${parsed.outputs.json}, ${parsed.outputs.markdown}, ${parsed.outputs.svg}${readme ? ` and the benchmark section of ${readme}` : ''}\n`,
      );
      const failed = report.workloads.flatMap((w) => w.results.filter((m) => m.status === 'error' || m.agrees === false));
      if (failed.length > 0) {
        process.stderr.write(`${failed.length} measurement(s) failed or gave a wrong output: ${failed.map((m) => m.target).join(', ')}\n`);
        process.exitCode = 1;
      }
    });
}
