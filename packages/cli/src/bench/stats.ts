import type { Timing } from './types.js';

/** The q-quantile (0..1) of sorted values, linearly interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Median, p95, mean and min of latency samples (ms), and the output bandwidth at the median. */
export function summarize(samplesMs: readonly number[], outputBytes: number): Timing {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const medianMs = quantile(sorted, 0.5);
  return {
    medianMs,
    p95Ms: quantile(sorted, 0.95),
    meanMs: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    minMs: sorted[0] ?? Number.NaN,
    samples: sorted.length,
    gbps: outputBytes / (medianMs * 1e6),
  };
}
