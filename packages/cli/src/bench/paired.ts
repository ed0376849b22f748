import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { benchIndices } from './data.js';
import { errorSummary } from './errors.js';
import { PAIR_GROUPS, type PairGoal, resultOf, sideTiming } from './goals.js';
import { TORCH_SERVE_SCRIPT } from './torch.js';
import type { PairResult, PairSide, RoundMode, Workload, WorkloadResult } from './types.js';

/** A target set up in a process of its own, timing `calls` calls of one mode on request. */
export interface RoundServer {
  /** Mean wall time per call, in ms, of `calls` back-to-back calls of `mode`. */
  time(mode: RoundMode, calls: number): Promise<number>;
  close(): Promise<void>;
}

/** How many rounds, and how many calls of each side per round. */
export interface RoundPlan {
  /** Measured rounds (one more, first, is a warm-up and not kept). */
  rounds: number;
  /** Calls per round for each side of each goal, by goal id. */
  calls: Record<string, { a: number; b: number }>;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Times each goal of a group with its two servers in alternating rounds: in even rounds `a`'s
 * calls run first, in odd rounds `b`'s, for every goal in turn; round 0 is a warm-up. A goal's
 * ratio is the median of its per-round ratios (a / b), with their range; `aMs`/`bMs` are the
 * median per-call times of each side.
 */
export async function runRounds(
  servers: { a: RoundServer; b: RoundServer },
  goals: readonly PairGoal[],
  plan: RoundPlan,
): Promise<PairResult[]> {
  const ratios = new Map<string, number[]>(goals.map((g) => [g.id, []]));
  const times = new Map<string, { a: number[]; b: number[] }>(goals.map((g) => [g.id, { a: [], b: [] }]));
  for (let round = 0; round <= plan.rounds; round++) {
    for (const goal of goals) {
      const calls = plan.calls[goal.id]!;
      const runA = () => servers.a.time(goal.a.mode, calls.a);
      const runB = () => servers.b.time(goal.b.mode, calls.b);
      let a: number;
      let b: number;
      if (round % 2 === 0) {
        a = await runA();
        b = await runB();
      } else {
        b = await runB();
        a = await runA();
      }
      if (round === 0) continue;
      ratios.get(goal.id)!.push(a / b);
      times.get(goal.id)!.a.push(a);
      times.get(goal.id)!.b.push(b);
    }
  }
  return goals.map((goal) => {
    const r = ratios.get(goal.id)!;
    const t = times.get(goal.id)!;
    return {
      id: goal.id,
      a: goal.a,
      b: goal.b,
      rounds: r.length,
      ratio: median(r),
      min: Math.min(...r),
      max: Math.max(...r),
      aMs: median(t.a),
      bMs: median(t.b),
    };
  });
}

/** Wall time one side of a round should take, so that a round of a fast target is not one timer tick. */
const ROUND_SIDE_MS = 150;
/** Most calls per side per round. */
const MAX_ROUND_CALLS = 20_000;

/** Calls per round for a target whose calls took `medianMs` in the main run. */
export function callsPerRound(medianMs: number | undefined): number {
  if (medianMs === undefined || !Number.isFinite(medianMs) || medianMs <= 0) return 1;
  return Math.max(1, Math.min(MAX_ROUND_CALLS, Math.round(ROUND_SIDE_MS / medianMs)));
}

/** Rounds per workload: more where calls are short (S, M) and the noise between calls is larger. */
export function roundsFor(workload: Workload): number {
  return workload.name === 'L' || workload.name === 'XL' ? 5 : 9;
}

/** The spec a Node round server is started with (`embedding-layer bench --serve <json>`). */
export interface ServeSpec {
  workload: Workload['name'];
  target: string;
  /** For the copy limit: the copy method to time (the fastest of the main run). */
  method?: string;
}

/** Ends a server process (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(force);
}

type ServerMessage = { ready: true } | { ms: number } | { error: string };

/** A Node child (`bench --serve`) holding one target; messages over IPC. */
function nodeServer(spec: ServeSpec, script: string): Promise<RoundServer> {
  const child = fork(script, ['bench', '--serve', JSON.stringify(spec)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  let waiting: { resolve: (m: ServerMessage) => void; reject: (e: Error) => void } | null = null;
  const exited = (code: number | null, signal: string | null) =>
    new Error(
      `${spec.target} server ${signal ? `killed by ${signal}` : `exited with code ${code}`}${stderr ? `: ${errorSummary(stderr)}` : ''}`,
    );
  child.on('message', (m) => {
    const w = waiting;
    waiting = null;
    w?.resolve(m as ServerMessage);
  });
  child.on('exit', (code, signal) => {
    const w = waiting;
    waiting = null;
    w?.reject(exited(code, signal));
  });
  const next = () =>
    new Promise<ServerMessage>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(exited(child.exitCode, child.signalCode));
      waiting = { resolve, reject };
    });
  const answer = async (): Promise<number> => {
    const m = await next();
    if ('error' in m) throw new Error(`${spec.target}: ${m.error}`);
    if (!('ms' in m)) throw new Error(`${spec.target}: unexpected message ${JSON.stringify(m)}`);
    return m.ms;
  };
  const server: RoundServer = {
    async time(mode, calls) {
      const reply = answer();
      child.send({ mode, calls });
      return reply;
    },
    close: () => stop(child),
  };
  return next().then(
    (m) => {
      if ('error' in m) throw new Error(`${spec.target}: ${m.error}`);
      return server;
    },
    (error) => {
      child.kill('SIGKILL');
      throw error;
    },
  );
}

/** A Python child holding torch's table and the workload's indices; one line per request. */
async function torchServer(workload: Workload, options: { python: string; threads: number; idsFile: string }): Promise<RoundServer> {
  const threads = String(options.threads);
  const child = spawn(
    options.python,
    ['-c', TORCH_SERVE_SCRIPT, JSON.stringify({ ...workload, threads: options.threads, ids: options.idsFile })],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const failed = new Promise<never>((_, reject) => {
    child.on('error', (error) => reject(error));
    child.on('exit', (code, signal) =>
      reject(new Error(`torch server ${signal ? `killed by ${signal}` : `exited with code ${code}`}: ${errorSummary(stderr)}`)),
    );
  });
  failed.catch(() => undefined);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const line = async (): Promise<string> => {
    const next = await Promise.race([lines.next(), failed]);
    if (next.done) throw new Error(`torch server closed its output: ${errorSummary(stderr)}`);
    return next.value;
  };
  const ready = await line();
  if (ready.trim() !== 'ready') {
    child.kill('SIGKILL');
    throw new Error(`torch server: ${ready.trim()}`);
  }
  return {
    async time(mode, calls) {
      child.stdin.write(`${mode} ${calls}\n`);
      return Number(await line());
    },
    close: () => stop(child),
  };
}

/** Options of {@link measurePairs}. */
export interface PairOptions {
  /** The script that runs `bench --serve` (this process's entry). */
  script: string;
  python: string;
  threads: number;
  /** Give up on a group (both servers killed) after this long. */
  timeoutMs: number;
}

/**
 * Measures the goal pairs of one workload whose two targets both ran in the main run (and, for
 * `out` goals, both had a caller-provided output), each group with two live servers in
 * alternating rounds. A group that fails is recorded with its reason and the rest go on.
 */
export async function measurePairs(w: WorkloadResult, options: PairOptions): Promise<PairResult[]> {
  const median = (side: PairSide) => sideTiming(w, side)?.medianMs;
  const dir = await mkdtemp(join(tmpdir(), 'embedding-layer-bench-'));
  const idsFile = join(dir, 'ids.bin');
  const { workload } = w;
  await writeFile(idsFile, benchIndices(workload.batch * workload.sequence, workload.inputDim));
  const results: PairResult[] = [];
  try {
    for (const group of PAIR_GROUPS) {
      const goals = group.goals.filter((g) => median(g.a) !== undefined && median(g.b) !== undefined);
      if (goals.length === 0) continue;
      const start = (target: string): Promise<RoundServer> => {
        if (target === 'torch') return torchServer(workload, { python: options.python, threads: options.threads, idsFile });
        const method = target === 'copy' ? resultOf(w, 'copy')?.method : undefined;
        return nodeServer({ workload: workload.name, target, ...(method ? { method } : {}) }, options.script);
      };
      const servers: RoundServer[] = [];
      let timer: NodeJS.Timeout | undefined;
      try {
        const a = await start(group.a);
        servers.push(a);
        const b = await start(group.b);
        servers.push(b);
        const plan: RoundPlan = {
          rounds: roundsFor(workload),
          calls: Object.fromEntries(goals.map((g) => [g.id, { a: callsPerRound(median(g.a)), b: callsPerRound(median(g.b)) }])),
        };
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s`)), options.timeoutMs);
        });
        results.push(...(await Promise.race([runRounds({ a, b }, goals, plan), timeout])));
      } catch (error) {
        const why = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        for (const g of goals) results.push({ id: g.id, a: g.a, b: g.b, rounds: 0, error: why });
      } finally {
        clearTimeout(timer);
        await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
