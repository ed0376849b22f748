/** The workloads of `embedding-layer bench`, by name. */
export type WorkloadName = 'S' | 'M' | 'L' | 'XL';

/** One workload: a table, a batch of indices, and how long to measure it. */
export interface Workload {
  name: WorkloadName;
  /** Rows of the table (Keras `input_dim`). */
  inputDim: number;
  /** Columns of the table (Keras `output_dim`). */
  outputDim: number;
  /** Rows of the index batch. */
  batch: number;
  /** Columns of the index batch (sequence length). */
  sequence: number;
  /** tinybench `time`: least milliseconds of measured calls. */
  time: number;
  /** tinybench `iterations`: least measured calls. */
  iterations: number;
  /** tinybench `warmupTime` (ms). */
  warmupTime: number;
  /** tinybench `warmupIterations`. */
  warmupIterations: number;
}

/** What a target is: the limit (plain copies), one of our backends through the public API, or a raw peer. */
export type TargetKind = 'limit' | 'backend' | 'peer';

/** A thing the bench measures on every workload. */
export interface Target {
  id: string;
  kind: TargetKind;
  /** One line: what exactly is timed. */
  description: string;
  /** For a peer: the backends it is the raw counterpart of (their "x raw peer" column uses the first peer listed for them). */
  peerOf?: readonly string[];
}

/** Latency statistics of one timed call, in milliseconds, and the output bandwidth. */
export interface Timing {
  medianMs: number;
  p95Ms: number;
  meanMs: number;
  minMs: number;
  /** Measured calls (warm-up excluded). */
  samples: number;
  /** Output bytes / median time, in GB/s (10^9 bytes). */
  gbps: number;
}

/** Memory of one child process over its run, relative to its baseline (after loading the runtime, before the table). */
export interface Memory {
  /** input_dim * output_dim * 4. */
  tableBytes: number;
  /** RSS at the baseline. */
  baselineRss: number;
  /** What layer (table, session) creation added to RSS: the caller's source table, resident before, is not counted. */
  createRss: number;
  /** Peak RSS of the process (getrusage maxRSS) minus the baseline, over creation and every lookup. */
  peakRss: number;
  /** Largest sampled `process.memoryUsage().arrayBuffers` minus the baseline (sampled after creation and after each lookup). */
  peakArrayBuffers: number;
}

/** The outcome of one target on one workload (one child process). */
export interface Measurement {
  target: string;
  kind: TargetKind;
  status: 'ok' | 'skipped' | 'error';
  /** Why skipped or failed; or a remark about how it was measured. */
  note?: string;
  /** Layer (table, tensor, session) creation from a Float32Array already in memory, in ms. */
  createMs?: number;
  /** The main timing: the public API (fresh output); for `copy`, a copy into a preallocated buffer. */
  timing?: Timing;
  /** The timing with a caller-provided output buffer, when the API allows it. */
  outTiming?: Timing;
  /** Why there is no caller-provided-output timing. */
  outNote?: string;
  /** For the copy limit: each copy method's timing; `method` is the fastest, whose timing is `timing`. */
  methods?: Record<string, Timing>;
  method?: string;
  /** Sampled rows of the first output equal the table's rows bit for bit. */
  agrees?: boolean;
  /** Threads the target computed with, where the bench sets it (torch). */
  threads?: number;
  memory?: Memory;
}

/** The machine the numbers come from. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the run ended (other processes on the machine skew the numbers). */
  loadAverage?: number[];
  versions: Record<string, string>;
  /** The source measured: `git describe --always --dirty` of the working directory, when it is a checkout. */
  revision?: string;
}

/** How a side of a paired goal is called: a fresh output, or into a caller-provided one. */
export type RoundMode = 'fresh' | 'out';

/** One side of a paired goal: a target and how it is called. */
export interface PairSide {
  target: string;
  mode: RoundMode;
}

/**
 * A goal ratio measured with both targets alive in processes of their own and their calls
 * alternating in rounds (the first round a warm-up, not kept).
 */
export interface PairResult {
  /** The goal, as `a/b` (`out` where the side writes into a caller-provided buffer). */
  id: string;
  a: PairSide;
  b: PairSide;
  /** Rounds kept (0 when the pair failed). */
  rounds: number;
  /** Median of the per-round ratios of mean call times, a / b. */
  ratio?: number;
  /** Smallest and largest per-round ratio. */
  min?: number;
  max?: number;
  /** Median per-call wall time of each side over the rounds, ms. */
  aMs?: number;
  bMs?: number;
  /** Why the pair was not measured. */
  error?: string;
}

/** One workload's measurements. */
export interface WorkloadResult {
  workload: Workload;
  tableBytes: number;
  outputBytes: number;
  results: Measurement[];
  /** The goal ratios measured in alternating rounds after the targets' own runs (see `measurePairs`). */
  pairs?: PairResult[];
}

/** Everything one `embedding-layer bench` run measured; also its JSON output. */
export interface BenchReport {
  version: 1;
  generatedAt: string;
  machine: Machine;
  /** Total wall time of the run, in seconds. */
  seconds: number;
  workloads: WorkloadResult[];
}
