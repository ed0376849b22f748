import type { Measurement, PairSide, RoundMode, Timing, WorkloadResult } from './types.js';

/** The measurement of `target` on a workload, when it ran. */
export function resultOf(w: WorkloadResult, target: string): Measurement | undefined {
  const m = w.results.find((r) => r.target === target);
  return m?.status === 'ok' ? m : undefined;
}

/** The timing of one side of a goal in the targets' own runs: its fresh output, or into a caller-provided buffer. */
export function sideTiming(w: WorkloadResult, side: PairSide): Timing | undefined {
  const m = resultOf(w, side.target);
  return side.mode === 'out' ? m?.outTiming : m?.timing;
}

/** A goal that compares two targets: `a`'s time over `b`'s. */
export interface PairGoal {
  /** `a/b`, each side's target followed by ` out` when it writes into a caller-provided buffer. */
  id: string;
  a: PairSide;
  b: PairSide;
}

/** The goal `a` (called as `aMode`) over `b` (called as `bMode`), with its id. */
export function pairGoal(a: string, aMode: RoundMode, b: string, bMode: RoundMode): PairGoal {
  const name = (target: string, mode: RoundMode) => (mode === 'out' ? `${target} out` : target);
  return { id: `${name(a, aMode)}/${name(b, bMode)}`, a: { target: a, mode: aMode }, b: { target: b, mode: bMode } };
}

/**
 * The goals of issue 16 that compare two targets, grouped by the two processes they need. Each
 * goal is measured with both processes alive and their calls alternating in rounds, so that a
 * change in the host's speed (on a shared VM, 1.5-4x between processes minutes apart) moves both
 * sides of a ratio alike.
 */
export const PAIR_GROUPS: readonly { a: string; b: string; goals: readonly PairGoal[] }[] = [
  { a: 'js', b: 'torch', goals: [pairGoal('js', 'fresh', 'torch', 'fresh'), pairGoal('js', 'out', 'torch', 'out')] },
  { a: 'js', b: 'copy', goals: [pairGoal('js', 'out', 'copy', 'fresh')] },
  {
    a: 'onnx',
    b: 'ort-session',
    goals: [pairGoal('onnx', 'fresh', 'ort-session', 'fresh'), pairGoal('onnx', 'out', 'ort-session', 'out')],
  },
  { a: 'tfjs-cpu', b: 'js', goals: [pairGoal('tfjs-cpu', 'fresh', 'js', 'fresh')] },
  { a: 'tf.gather@wasm', b: 'tfjs-wasm', goals: [pairGoal('tf.gather@wasm', 'fresh', 'tfjs-wasm', 'fresh')] },
];
