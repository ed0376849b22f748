import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, Embedding } from '@embedding-layer/core';
import type { EmbeddingRecord } from '../../src/index.js';

/*
 * A seeded mutation fuzzer for the model-file readers. Each case is fully determined by
 * (format, seed, index): the base file is picked and mutated by a PRNG seeded from those, so a
 * failure prints the seed, index, base file and the mutations, and `replayCase` rebuilds the
 * exact bytes. Mutations: bit flips, byte insert/delete, truncation, overwriting 1/2/4/8-byte
 * little-endian integers (length fields) with huge / negative / boundary values, and (for JSON
 * members) replacing a JSON value with a hostile one.
 */

/** mulberry32: a small, fast, seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for one case: mixes the run seed, a format tag and the case index. */
export function caseSeed(seed: number, tag: string, index: number): number {
  let h = seed ^ 0x9e3779b9;
  for (const c of `${tag}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

const INTERESTING: readonly bigint[] = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  2n ** 53n,
  2n ** 62n,
  2n ** 63n - 1n,
  2n ** 64n - 1n, // -1 as any width
  2n ** 64n - 2n,
];

/** One mutation, as printed on failure. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; length: number }
  | { op: 'int'; at: number; width: 1 | 2 | 4 | 8; value: string }
  | { op: 'json'; path: string; value: unknown };

/** A position biased toward the head and tail of the file, where formats keep their headers and indexes. */
function position(rand: () => number, length: number): number {
  if (length === 0) return 0;
  const r = rand();
  if (r < 0.45) return Math.floor(rand() * Math.min(length, 512));
  if (r < 0.6) return Math.max(0, length - 1 - Math.floor(rand() * Math.min(length, 512)));
  return Math.floor(rand() * length);
}

function pickValue(rand: () => number, length: number): bigint {
  const r = rand();
  if (r < 0.6) return INTERESTING[Math.floor(rand() * INTERESTING.length)]!;
  if (r < 0.8) return BigInt(Math.max(0, length + Math.floor(rand() * 9) - 4));
  return BigInt(Math.floor(rand() * 2 ** 32)) * BigInt(Math.floor(rand() * 2 ** 20) + 1);
}

const HOSTILE_JSON: readonly unknown[] = [
  null,
  -1,
  0,
  1e300,
  2 ** 53,
  -(2 ** 31),
  1.5,
  Number.MAX_SAFE_INTEGER,
  '',
  '../../etc/passwd',
  'x'.repeat(300),
  [],
  [1e12, 1e12],
  [2 ** 31, 2 ** 31],
  [-5, 3],
  {},
  true,
  'float64',
  'uint8',
  'int8_from_float32',
];

/** Every value path in a JSON tree (for the JSON-aware mutation). */
function jsonPaths(node: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (out.length > 5000) return out;
  if (Array.isArray(node)) {
    for (const [i, v] of node.entries()) jsonPaths(v, [...prefix, i], out);
  } else if (typeof node === 'object' && node !== null) for (const [k, v] of Object.entries(node)) jsonPaths(v, [...prefix, k], out);
  out.push(prefix);
  return out;
}

function applyJson(bytes: Uint8Array, rand: () => number, log: Mutation[]): Uint8Array | null {
  let tree: unknown;
  try {
    tree = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
  const paths = jsonPaths(tree).filter((p) => p.length > 0);
  if (paths.length === 0) return null;
  const path = paths[Math.floor(rand() * paths.length)]!;
  const value = rand() < 0.15 ? undefined : HOSTILE_JSON[Math.floor(rand() * HOSTILE_JSON.length)];
  let parent = tree as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  log.push({ op: 'json', path: path.join('/'), value: value === undefined ? '<deleted>' : value });
  return new TextEncoder().encode(JSON.stringify(tree));
}

/** Applies 1-3 seeded mutations to a copy of `base`. `json`: the bytes are JSON (enables the JSON-aware mutation). */
export function mutate(base: Uint8Array, rand: () => number, json = false): { bytes: Uint8Array; log: Mutation[] } {
  let bytes: Uint8Array = base.slice();
  const log: Mutation[] = [];
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (json && r < 0.4) {
      const out = applyJson(bytes, rand, log);
      if (out) {
        bytes = out;
        continue;
      }
    }
    const op = json ? (r - 0.4) / 0.6 : r;
    if (op < 0.3) {
      const at = position(rand, bytes.length);
      const bit = Math.floor(rand() * 8);
      if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << bit);
      log.push({ op: 'flip', at, bit });
    } else if (op < 0.42) {
      const at = position(rand, bytes.length);
      const ins = Array.from({ length: 1 + Math.floor(rand() * 16) }, () => Math.floor(rand() * 256));
      const out = new Uint8Array(bytes.length + ins.length);
      out.set(bytes.subarray(0, at));
      out.set(ins, at);
      out.set(bytes.subarray(at), at + ins.length);
      bytes = out;
      log.push({ op: 'insert', at, bytes: ins });
    } else if (op < 0.54) {
      const at = position(rand, bytes.length);
      const count = Math.min(bytes.length - at, 1 + Math.floor(rand() * 16));
      const out = new Uint8Array(bytes.length - count);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + count), at);
      bytes = out;
      log.push({ op: 'delete', at, count });
    } else if (op < 0.7) {
      const length = rand() < 0.5 ? Math.floor(rand() * Math.min(bytes.length, 1024)) : Math.floor(rand() * bytes.length);
      bytes = bytes.slice(0, length);
      log.push({ op: 'truncate', length });
    } else {
      const width = ([1, 2, 4, 8] as const)[Math.floor(rand() * 4)]!;
      if (bytes.length < width) continue;
      const at = Math.min(position(rand, bytes.length), bytes.length - width);
      const value = pickValue(rand, bytes.length);
      for (let k = 0; k < width; k++) bytes[at + k] = Number((value >> BigInt(8 * k)) & 0xffn);
      log.push({ op: 'int', at, width, value: value.toString() });
    }
  }
  return { bytes, log };
}

/** A base file for the fuzzer: its bytes, and a label that names it in failure reports. */
export interface FuzzBase {
  label: string;
  bytes: Uint8Array;
  /** Share of the cases on this base (relative weight). */
  weight: number;
  json?: boolean;
  /** Format-specific data for the reader (e.g. which shard file the bytes replace). */
  extra?: string;
}

/** Chooses a base by weight. */
export function pickBase(bases: readonly FuzzBase[], rand: () => number): FuzzBase {
  const total = bases.reduce((a, b) => a + b.weight, 0);
  let r = rand() * total;
  for (const b of bases) {
    r -= b.weight;
    if (r < 0) return b;
  }
  return bases[bases.length - 1]!;
}

/** Scratch directory on tmpfs when there is one (h5wasm in Node reads files from disk). */
export function scratchDir(tag: string): string {
  const root = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = join(root, `io-fuzz-${tag}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Per-case wall-time limit: a reader that takes longer on one file is reported as a hang. Far
 * above what any case costs (the HDF5 worker's own limit counts CPU time, 1 s in the fuzz
 * tests), so a loaded machine does not turn a slow case into a failure; a real hang never ends.
 */
export const HANG_LIMIT_MS = 60_000;

/** What the fuzzer found for one format. */
export interface FuzzStats {
  format: string;
  seed: number;
  files: number;
  loads: number;
  badFile: number;
  /** BadFileErrors from the HDF5 worker's time limit (the HDF5 library looped on the file). */
  guardedHangs: number;
  failures: string[];
  /** Wall time of the run in ms (reported, not asserted). */
  ms: number;
}

/**
 * Checks that a successful read gives well-formed layers: finite positive dims, a Float32Array
 * of input_dim * output_dim values, and `Embedding.create` accepts it (as `loadEmbedding` does).
 */
export async function checkRecords(records: readonly EmbeddingRecord[]): Promise<void> {
  if (!Array.isArray(records) || records.length === 0) throw new Error('a successful read returned no records');
  for (const r of records) {
    if (!Number.isSafeInteger(r.inputDim) || !Number.isSafeInteger(r.outputDim) || r.inputDim <= 0 || r.outputDim <= 0)
      throw new Error(`malformed dims ${r.inputDim} x ${r.outputDim}`);
    if (!(r.weights instanceof Float32Array) || r.weights.length !== r.inputDim * r.outputDim)
      throw new Error(`weights length ${r.weights?.length} for ${r.inputDim} x ${r.outputDim}`);
    const layer = await Embedding.create(r.config, { backend: createJsBackend(), weights: [r.weights] });
    const got = (await layer.getWeights())[0]!;
    if (got.length !== r.inputDim * r.outputDim) throw new Error('the layer holds a table of the wrong size');
    (layer as { dispose?: () => void }).dispose?.();
  }
}

/**
 * Runs `count` mutated cases through `read`. Before each case its (format, seed, index) is
 * written to `inflight` (synchronously), so a reader that never returns (the test then fails on
 * its timeout) leaves the case to replay behind.
 */
export async function fuzz(options: {
  format: string;
  seed: number;
  count: number;
  bases: readonly FuzzBase[];
  read: (bytes: Uint8Array, base: FuzzBase, rand: () => number, lane: number) => Promise<readonly EmbeddingRecord[]>;
  inflight: string;
  /** Cases run at once (each on its own lane: scratch file, HDF5 worker). Default 1. */
  concurrency?: number;
}): Promise<FuzzStats> {
  const stats: FuzzStats = {
    format: options.format,
    seed: options.seed,
    files: 0,
    loads: 0,
    badFile: 0,
    guardedHangs: 0,
    failures: [],
    ms: 0,
  };
  const runStarted = performance.now();
  const start = Number(process.env.IO_FUZZ_START ?? 0);
  const lanes = Math.max(1, options.concurrency ?? 1);
  const runCase = async (i: number, lane: number) => {
    const rand = prng(caseSeed(options.seed, options.format, i));
    const base = pickBase(options.bases, rand);
    const { bytes, log } = mutate(base.bytes, rand, base.json === true);
    const describe = () =>
      `format ${options.format}, seed ${options.seed}, case ${i}, base ${base.label}, mutations ${JSON.stringify(log)}`;
    writeFileSync(`${options.inflight}.${lane}`, describe());
    stats.files++;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const records = await Promise.race([
        options.read(bytes, base, rand, lane),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`HANG: no result after ${HANG_LIMIT_MS} ms`)), HANG_LIMIT_MS);
        }),
      ]);
      await checkRecords(records);
      stats.loads++;
    } catch (error) {
      if (error instanceof BadFileError && error.code === 'BAD_FILE' && typeof error.message === 'string' && error.message.length > 0) {
        stats.badFile++;
        if (error.message.includes('did not finish within')) stats.guardedHangs++;
      } else stats.failures.push(`${describe()}: ${(error as Error)?.stack ?? String(error)}${keep(bytes, i)}`);
    } finally {
      clearTimeout(timer);
    }
    if (performance.now() - started > HANG_LIMIT_MS)
      stats.failures.push(`${describe()}: HANG: took over ${HANG_LIMIT_MS} ms${keep(bytes, i)}`);
  };
  for (let i = start; i < start + options.count && stats.failures.length < 20; i += lanes) {
    const batch: Promise<void>[] = [];
    for (let lane = 0; lane < lanes && i + lane < start + options.count; lane++) batch.push(runCase(i + lane, lane));
    await Promise.all(batch);
  }
  stats.ms = Math.round(performance.now() - runStarted);
  return stats;
}

/**
 * Keeps a failing case's bytes in the OS temp dir and says where: our own exports carry HDF5
 * timestamps, so their bases (and the mutated bytes) differ from run to run; the kept file
 * replays the failure exactly.
 */
function keep(bytes: Uint8Array, index: number): string {
  const path = join(tmpdir(), `io-fuzz-failure-${process.pid}-${index}.bin`);
  writeFileSync(path, bytes);
  return `\n(the mutated file is kept at ${path})`;
}

/** Writes `bytes` to `path` (reusing one path per format). */
export async function put(path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(path, bytes);
}

/** Removes a scratch directory. */
export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The run seed: `IO_FUZZ_SEED` when set (to replay), else a fixed default so CI is reproducible. */
export const FUZZ_SEED = Number(process.env.IO_FUZZ_SEED ?? 20261130);

/** Cases per format: `IO_FUZZ_CASES` when set, else 10,000. */
export const FUZZ_CASES = Number(process.env.IO_FUZZ_CASES ?? 10_000);
