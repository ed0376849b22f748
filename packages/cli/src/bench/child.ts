import { Bench } from 'tinybench';
import { agreesWithTable, benchIndices, benchTable } from './data.js';
import { summarize } from './stats.js';
import { createSubject, needsTable, preload, SkipTarget, type Subject } from './subjects.js';
import type { Measurement, Memory, Timing, Workload } from './types.js';
import { targetById, workloadBytes } from './workloads.js';

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
  let peakArrayBuffers = 0;
  const sample = () => {
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
  };
  const table = needsTable(target.id) ? benchTable(workload.inputDim * workload.outputDim) : null;
  const indices = benchIndices(workload.batch * workload.sequence, workload.inputDim);
  let subject: Subject;
  try {
    subject = await createSubject(target.id, { workload, table, indices });
  } catch (error) {
    if (error instanceof SkipTarget) return { ...base, status: 'skipped', note: error.message };
    return { ...base, status: 'error', note: `creation failed: ${errorLine(error)}` };
  }
  const createRss = process.memoryUsage().rss - baseline.rss;
  sample();
  const result: Measurement = {
    ...base,
    ...(subject.createMs !== undefined ? { createMs: subject.createMs } : {}),
    ...(subject.note ? { note: subject.note } : {}),
    ...(subject.outNote ? { outNote: subject.outNote } : {}),
  };
  try {
    const first = await subject.run();
    if (subject.checkable) result.agrees = agreesWithTable(first as ArrayLike<number>, table!, indices, workload.outputDim);
    sample();
    const bench = new Bench({
      time: workload.time,
      iterations: workload.iterations,
      warmupTime: workload.warmupTime,
      warmupIterations: workload.warmupIterations,
      throws: true,
    });
    const options = { afterEach: sample };
    const methods = subject.methods ?? { fresh: subject.run };
    for (const [name, fn] of Object.entries(methods)) bench.add(name, fn as () => unknown, options);
    let out: Float32Array | null = null;
    if (subject.runOut) {
      out = new Float32Array(indices.length * workload.outputDim);
      const runOut = subject.runOut;
      const buffer = out;
      bench.add('out', () => runOut(buffer), options);
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
