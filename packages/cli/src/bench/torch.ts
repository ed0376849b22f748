import { spawn } from 'node:child_process';
import { summarize } from './stats.js';
import type { Measurement, Workload } from './types.js';
import { workloadBytes } from './workloads.js';

/**
 * The Python side: F.embedding (fresh output) and index_select(out=) timed with perf_counter,
 * peak RSS from getrusage. Torch runs on `spec.threads` intra-op threads (the count our
 * backends compute with) and one inter-op thread; the count torch would have picked itself is
 * recorded beside the one it ran with.
 */
const SCRIPT = String.raw`
import json, sys, time, resource
spec = json.loads(sys.argv[1])
try:
    import torch
    import torch.nn.functional as F
except Exception as e:
    print(json.dumps({"skip": "%s cannot import torch (%s); on Debian: apt install python3-torch and pass --python /usr/bin/python3" % (sys.executable, type(e).__name__)}))
    sys.exit(0)
default_threads = torch.get_num_threads()
torch.set_num_threads(spec["threads"])
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
V, D, B, S = spec["inputDim"], spec["outputDim"], spec["batch"], spec["sequence"]
base = rss()
g = torch.Generator().manual_seed(42)
table = torch.rand(V, D, generator=g) * 0.1 - 0.05
idx = torch.randint(0, V, (B, S), generator=g, dtype=torch.int64)
before_create = rss()
t0 = time.perf_counter()
weight = torch.nn.Embedding.from_pretrained(table, freeze=True).weight
create_ms = (time.perf_counter() - t0) * 1e3
create_rss = rss() - before_create
def timed(fn):
    for _ in range(spec["warmupIterations"]):
        fn()
    samples, total = [], 0.0
    while total < spec["time"] or len(samples) < spec["iterations"]:
        t = time.perf_counter(); fn(); dt = (time.perf_counter() - t) * 1e3
        samples.append(dt); total += dt
    return samples
flat = idx.reshape(-1)
buf = torch.empty(B * S, D)
with torch.inference_mode():
    y = F.embedding(idx, weight)
    agrees = bool(torch.equal(y[0, 0], weight[idx[0, 0]]))
    del y
    fresh = timed(lambda: F.embedding(idx, weight))
    out = timed(lambda: torch.index_select(weight, 0, flat, out=buf))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
print(json.dumps({"createMs": create_ms, "createRss": create_rss, "peakRss": peak, "baselineRss": base,
                  "fresh": fresh, "out": out, "agrees": agrees, "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "defaultThreads": default_threads, "executable": sys.executable}))
`;

/**
 * The Python side of a paired goal (see paired.ts): torch's table, the workload's own indices
 * (int32 from the file `spec["ids"]`, as our targets use), then one request per stdin line,
 * `fresh N` (F.embedding) or `out N` (index_select(out=)), answered with the mean wall time per
 * call of N back-to-back calls, in ms. Prints `ready` once set up (or the reason it cannot run).
 */
export const TORCH_SERVE_SCRIPT = String.raw`
import json, sys, time
spec = json.loads(sys.argv[1])
try:
    import numpy, torch
    import torch.nn.functional as F
except Exception as e:
    print("cannot import torch: %s" % type(e).__name__, flush=True)
    sys.exit(0)
torch.set_num_threads(spec["threads"])
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
V, D, B, S = spec["inputDim"], spec["outputDim"], spec["batch"], spec["sequence"]
g = torch.Generator().manual_seed(42)
weight = torch.nn.Embedding.from_pretrained(torch.rand(V, D, generator=g) * 0.1 - 0.05, freeze=True).weight
flat = torch.from_numpy(numpy.fromfile(spec["ids"], dtype=numpy.int32).astype(numpy.int64))
idx = flat.reshape(B, S)
buf = torch.empty(B * S, D)
calls = {"fresh": lambda: F.embedding(idx, weight), "out": lambda: torch.index_select(weight, 0, flat, out=buf)}
with torch.inference_mode():
    print("ready", flush=True)
    for line in sys.stdin:
        mode, n = line.split()
        f, n = calls[mode], int(n)
        t = time.perf_counter()
        for _ in range(n):
            f()
        print((time.perf_counter() - t) * 1e3 / n, flush=True)
`;

/** The environment variable that names the Python interpreter of the torch peer (`--python` wins over it). */
export const PYTHON_ENV = 'EMBEDDING_LAYER_PYTHON';

/** The interpreter the torch peer runs in: `--python`, else `$EMBEDDING_LAYER_PYTHON`, else `python3` on PATH. */
export function resolvePython(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[PYTHON_ENV]?.trim();
  return option?.trim() || fromEnv || 'python3';
}

/** How the torch peer runs. */
export interface TorchOptions {
  /** The Python interpreter (a path or a name on PATH). Default `python3`. */
  python?: string;
  /** Intra-op threads torch computes with: the same count as our backends (see `BENCH_THREADS`). */
  threads: number;
}

/**
 * Runs PyTorch's `F.embedding` and `index_select(out=)` on the workload in the named Python
 * interpreter, on `threads` threads (OMP/MKL variables set to match, and `torch.set_num_threads`);
 * skipped (with the reason) when the interpreter or torch is absent.
 */
export async function measureTorch(workload: Workload, options: TorchOptions): Promise<Measurement> {
  const python = options.python ?? 'python3';
  const base: Measurement = { target: 'torch', kind: 'peer', status: 'ok' };
  const { tableBytes, outputBytes } = workloadBytes(workload);
  const threads = String(options.threads);
  const { stdout, stderr, code, spawnError } = await new Promise<{
    stdout: string;
    stderr: string;
    code: number | null;
    spawnError?: Error;
  }>((resolve) => {
    const child = spawn(python, ['-c', SCRIPT, JSON.stringify({ ...workload, threads: options.threads })], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (error) => resolve({ stdout: out, stderr: err, code: null, spawnError: error }));
    child.on('close', (c) => resolve({ stdout: out, stderr: err, code: c }));
  });
  if (spawnError)
    return {
      ...base,
      status: 'skipped',
      note: `cannot run ${python} (${spawnError.message}); name an interpreter with --python or $${PYTHON_ENV}`,
    };
  const last = stdout.trim().split('\n').pop() ?? '';
  let parsed: Record<string, any>;
  try {
    parsed = JSON.parse(last);
  } catch {
    return { ...base, status: 'error', note: `${python} exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}` };
  }
  if (parsed.skip) return { ...base, status: 'skipped', note: parsed.skip };
  return {
    ...base,
    createMs: parsed.createMs,
    timing: summarize(parsed.fresh, outputBytes),
    outTiming: summarize(parsed.out, outputBytes),
    agrees: parsed.agrees,
    threads: parsed.threads,
    note: `torch ${parsed.torch} in ${parsed.executable}, ${parsed.threads} thread(s) as ours (torch's own default here: ${parsed.defaultThreads}); out = torch.index_select(weight, 0, idx, out=buf)`,
    memory: { tableBytes, baselineRss: parsed.baselineRss, createRss: parsed.createRss, peakRss: parsed.peakRss, peakArrayBuffers: 0 },
  };
}
