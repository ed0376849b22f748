import { Bench } from 'tinybench';
import { agreesWithTable, benchIndices, benchTable } from './data.js';
import type { ServeSpec } from './paired.js';
import { summarize } from './stats.js';
import { createSubject, needsTable, preload, SkipTarget, type Subject } from './subjects.js';
import type { Measurement, Memory, RoundMode, Timing, Workload } from './types.js';
import { targetById, WORKLOADS, workloadBytes } from './workloads.js';

/** Budget of measured calls per task, in ms: slow targets get fewer calls. */
export const TASK_BUDGET_MS = 6_000;

/** A first call slower than this is the only sample (repeating it would not fit a run of minutes). */
export const SINGLE_CALL_MS = 15_000;

/** Peak ArrayBuffers are sampled after one timed call in this many (and after each task). */
export const SAMPLE_EVERY = 32;

/** How a target is measured after its first (checked) call. */
export interface CallPlan {
  /** tinybench settings; absent when the first call is the only sample. */
  options?: { time: number; iterations: number; warmupTime: number; warmupIterations: number };
  note?: string;
}

/**
 * The tinybench settings for a target whose first (checked) call took `firstMs`: the
 * workload's settings when its calls fit {@link TASK_BUDGET_MS}; else as many calls as fit
 * (at least 1) with the first call as the only warm-up; beyond {@link SINGLE_CALL_MS}, no
 * more calls: the first one is the sample.
 */
export function planCalls(workload: Workload, firstMs: number): CallPlan {
  const options = {
    time: workload.time,
    iterations: workload.iterations,
    warmupTime: workload.warmupTime,
    warmupIterations: workload.warmupIterations,
  };
  if (firstMs * (workload.iterations + workload.warmupIterations) <= TASK_BUDGET_MS) return { options };
  const seconds = (firstMs / 1000).toFixed(1);
  if (firstMs > SINGLE_CALL_MS) return { note: `first call took ${seconds} s: it is the only sample (cold)` };
  const iterations = Math.max(1, Math.min(workload.iterations, Math.floor(TASK_BUDGET_MS / firstMs)));
  return {
    options: { time: 0, iterations, warmupTime: 0, warmupIterations: 0 },
    note: `first call took ${seconds} s: ${iterations} measured call(s), the first (checked) call as warm-up`,
  };
}

/** Times the subject's calls with tinybench (fresh output, caller-provided output, or each copy method) into `result`. */
async function timeCalls(
  subject: Subject,
  settings: NonNullable<CallPlan['options']>,
  result: Measurement,
  context: { workload: Workload; table: Float32Array | null; indices: Int32Array; outputBytes: number; sample: () => void },
): Promise<void> {
  const { workload, table, indices, outputBytes, sample } = context;
  const bench = new Bench({ ...settings, throws: true });
  // process.memoryUsage() costs about 12 µs and leaves the caches colder for the next call
  // (about +2.5 µs on an S lookup, bench/profile/sampling-probe.mjs): memory is sampled after
  // one call in SAMPLE_EVERY and after each task, not after every call.
  let calls = 0;
  const options = {
    afterEach: () => {
      if (++calls % SAMPLE_EVERY === 0) sample();
    },
    afterAll: sample,
  };
  // tinybench calls a non-async function once more to learn whether it returns a promise: an
  // extra call that costs a minute on slow targets, so lookups are wrapped in async functions.
  // Copies stay synchronous (a microtask is a measurable share of a 3 µs copy).
  const run = subject.run;
  const methods = subject.methods ?? { fresh: async () => run() };
  for (const [name, fn] of Object.entries(methods)) bench.add(name, fn as () => unknown, options);
  let out: Float32Array | null = null;
  if (subject.runOut) {
    const runOut = subject.runOut;
    const buffer = subject.outBuffer?.() ?? new Float32Array(indices.length * workload.outputDim);
    out = buffer;
    bench.add('out', async () => runOut(buffer), options);
  }
  await bench.run();
  const timings: Record<string, Timing> = {};
  for (const task of bench.tasks) timings[task.name] = summarize(task.result!.latency.samples, outputBytes);
  if (subject.methods) {
    const names = Object.keys(subject.methods);
    const best = names.reduce((a, b) => (timings[b]!.medianMs < timings[a]!.medianMs ? b : a));
    result.method = best;
    result.timing = timings[best]!;
    result.methods = Object.fromEntries(names.map((n) => [n, timings[n]!]));
  } else {
    result.timing = timings.fresh!;
  }
  if (timings.out) result.outTiming = timings.out;
  if (out && subject.checkable && !agreesWithTable(out, table!, indices, workload.outputDim)) result.agrees = false;
}

function errorLine(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
}

/**
 * Measures one target on one workload in the current process: creation (timed), one checked
 * lookup, then tinybench with warm-up, fresh output and (when the API allows) a caller-provided
 * output; memory is sampled after creation and after each call. Meant to run in a child process
 * of its own, so that no other target's garbage counts against it.
 */
export async function measureTarget(workload: Workload, targetId: string): Promise<Measurement> {
  const target = targetById(targetId);
  const { tableBytes, outputBytes } = workloadBytes(workload);
  const base: Measurement = { target: target.id, kind: target.kind, status: 'ok' };
  await preload(target.id);
  const baseline = process.memoryUsage();
  let peakArrayBuffers = baseline.arrayBuffers;
  const sample = () => {
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
  };
  const table = needsTable(target.id) ? benchTable(workload.inputDim * workload.outputDim) : null;
  const indices = benchIndices(workload.batch * workload.sequence, workload.inputDim);
  // The caller's table is resident before creation and is not the layer's memory: "RSS after
  // create" is what creating the layer added on top of it (torch is measured the same way).
  const beforeCreateRss = process.memoryUsage().rss;
  let subject: Subject;
  try {
    subject = await createSubject(target.id, { workload, table, indices });
  } catch (error) {
    if (error instanceof SkipTarget) return { ...base, status: 'skipped', note: error.message };
    return { ...base, status: 'error', note: `creation failed: ${errorLine(error)}` };
  }
  const createRss = (subject.rssAfterCreate ?? process.memoryUsage().rss) - beforeCreateRss;
  sample();
  const result: Measurement = {
    ...base,
    ...(subject.createMs !== undefined ? { createMs: subject.createMs } : {}),
    ...(subject.note ? { note: subject.note } : {}),
    ...(subject.outNote ? { outNote: subject.outNote } : {}),
  };
  try {
    const firstStart = performance.now();
    let first: unknown = await subject.run();
    const firstMs = performance.now() - firstStart;
    if (subject.checkable) result.agrees = agreesWithTable(first as ArrayLike<number>, table!, indices, workload.outputDim);
    first = null;
    sample();
    const plan = planCalls(workload, firstMs);
    if (plan.note) result.note = result.note ? `${result.note}; ${plan.note}` : plan.note;
    if (plan.options) await timeCalls(subject, plan.options, result, { workload, table, indices, outputBytes, sample });
    else {
      result.timing = summarize([firstMs], outputBytes);
      if (subject.runOut) result.outNote = 'not measured: the first call was the only sample';
    }
  } catch (error) {
    result.status = 'error';
    result.note = `lookup failed: ${errorLine(error)}`;
  } finally {
    try {
      await subject.dispose();
    } catch {
      // disposal errors do not change the measurement
    }
  }
  const memory: Memory = {
    tableBytes,
    baselineRss: baseline.rss,
    createRss,
    peakRss: process.resourceUsage().maxRSS * 1024 - baseline.rss,
    peakArrayBuffers: peakArrayBuffers - baseline.arrayBuffers,
  };
  result.memory = memory;
  return result;
}

/**
 * The server side of a paired goal (`embedding-layer bench --serve <json>`, see paired.ts): sets
 * up one target as {@link measureTarget} does, checks its first output, says `{ ready: true }`
 * over IPC, then answers each `{ mode, calls }` with `{ ms }`, the mean wall time per call of
 * `calls` back-to-back calls (fresh outputs, or into the target's own caller-provided buffer),
 * until the parent disconnects or ends it.
 */
export async function serveTarget(spec: ServeSpec): Promise<void> {
  const send = (message: object) => new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));
  const workload = WORKLOADS[spec.workload];
  await preload(spec.target);
  const table = needsTable(spec.target) ? benchTable(workload.inputDim * workload.outputDim) : null;
  const indices = benchIndices(workload.batch * workload.sequence, workload.inputDim);
  let subject: Subject;
  try {
    subject = await createSubject(spec.target, { workload, table, indices });
  } catch (error) {
    await send({ error: `creation failed: ${errorLine(error)}` });
    process.exit(0);
  }
  const fresh = spec.method ? subject.methods?.[spec.method] : subject.run;
  const runOut = subject.runOut;
  const buffer = runOut ? (subject.outBuffer?.() ?? new Float32Array(indices.length * workload.outputDim)) : null;
  const calls: Record<RoundMode, (() => unknown) | undefined> = {
    fresh,
    out: runOut && buffer ? () => runOut(buffer) : undefined,
  };
  // Copies are synchronous: a microtask per call would be a measurable share of a 2 µs copy.
  const asynchronous: Partial<Record<RoundMode, boolean>> = {};
  try {
    for (const mode of ['fresh', 'out'] as const) {
      const call = calls[mode];
      if (!call) continue;
      const first = call();
      asynchronous[mode] = first instanceof Promise;
      const output = await first;
      if (
        subject.checkable &&
        !agreesWithTable(mode === 'out' ? buffer! : (output as ArrayLike<number>), table!, indices, workload.outputDim)
      ) {
        throw new Error(`the first ${mode} output differs from the table's rows`);
      }
    }
  } catch (error) {
    await send({ error: `lookup failed: ${errorLine(error)}` });
    process.exit(0);
  }
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (message: { mode: RoundMode; calls: number }) => {
    const call = calls[message.mode];
    if (!call) return void send({ error: `${spec.target} has no ${message.mode} call` });
    try {
      const start = performance.now();
      if (asynchronous[message.mode]) for (let i = 0; i < message.calls; i++) await call();
      else for (let i = 0; i < message.calls; i++) call();
      await send({ ms: (performance.now() - start) / message.calls });
    } catch (error) {
      await send({ error: errorLine(error) });
    }
  });
  await send({ ready: true });
}
