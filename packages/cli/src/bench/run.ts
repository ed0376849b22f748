import { fork } from 'node:child_process';
import { errorSummary } from './errors.js';
import { describeMachine } from './machine.js';
import { measurePairs } from './paired.js';
import { measureTorch } from './torch.js';
import type { BenchReport, Measurement, WorkloadName, WorkloadResult } from './types.js';
import { BENCH_THREADS, TARGETS, targetById, WORKLOADS, workloadBytes } from './workloads.js';

/** What a child process is asked to measure (`embedding-layer bench --child <json>`). */
export interface ChildSpec {
  workload: WorkloadName;
  target: string;
}

/** Options of {@link runBench}. */
export interface RunBenchOptions {
  workloads: readonly WorkloadName[];
  /** Only these targets (default: all of {@link TARGETS}). */
  targets?: readonly string[];
  /** The script that runs `bench --child` (default: this process's entry, `process.argv[1]`). */
  script?: string;
  /** Kill a child after this long (default 5 minutes). */
  childTimeoutMs?: number;
  /** The Python interpreter of the torch peer (default `python3`; see `resolvePython`). */
  python?: string;
  /**
   * After each workload's targets, measure the goal ratios again with both targets of each goal
   * alive and their calls alternating in rounds (see paired.ts). Default true.
   */
  paired?: boolean;
  /** Called before each measurement starts and once at the end. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Runs one (workload, target) in a fresh Node process and returns what it sent back. */
function runChild(spec: ChildSpec, script: string, timeoutMs: number): Promise<Measurement> {
  const target = targetById(spec.target);
  const failed = (note: string): Measurement => ({ target: target.id, kind: target.kind, status: 'error', note });
  return new Promise((resolve) => {
    const child = fork(script, ['bench', '--child', JSON.stringify(spec)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let result: Measurement | undefined;
    child.stderr!.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.on('message', (m) => {
      result = m as Measurement;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result) return resolve(result);
      const why = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout or out of memory)' : ''}` : `exited with code ${code}`;
      resolve(failed(`child process ${why}${stderr ? `: ${errorSummary(stderr)}` : ''}`));
    });
  });
}

/**
 * Runs the benchmark: for each workload and target, one child process (PyTorch: one python3
 * process), sequentially, so targets never compete for the 2 cores or for memory; then (unless
 * `paired` is false) the goal ratios, two live processes at a time with their calls alternating.
 */
export async function runBench(options: RunBenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const targets = options.targets ? TARGETS.filter((t) => options.targets!.includes(t.id)) : TARGETS;
  const script = options.script ?? process.argv[1]!;
  const paired = options.paired !== false;
  const total = options.workloads.length * (targets.length + (paired ? 1 : 0));
  let done = 0;
  const workloads: BenchReport['workloads'] = [];
  for (const name of options.workloads) {
    const workload = WORKLOADS[name];
    const results: Measurement[] = [];
    for (const target of targets) {
      options.onProgress?.(done, total, `${name} ${target.id}`);
      results.push(
        target.id === 'torch'
          ? await measureTorch(workload, { threads: BENCH_THREADS, ...(options.python ? { python: options.python } : {}) })
          : await runChild({ workload: name, target: target.id }, script, options.childTimeoutMs ?? 300_000),
      );
      done++;
    }
    const result: WorkloadResult = { workload, ...workloadBytes(workload), results };
    if (paired) {
      options.onProgress?.(done, total, `${name} goals in alternating rounds`);
      const pairs = await measurePairs(result, {
        script,
        python: options.python ?? 'python3',
        threads: BENCH_THREADS,
        timeoutMs: options.childTimeoutMs ?? 300_000,
      });
      if (pairs.length > 0) result.pairs = pairs;
      done++;
    }
    workloads.push(result);
  }
  options.onProgress?.(done, total, 'done');
  return {
    version: 1,
    generatedAt: new Date().toISOString(),
    machine: describeMachine(),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    workloads,
  };
}
