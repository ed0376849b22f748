import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BadFileError } from '@embedding-layer/core';
import { expect } from 'vitest';

/** Bound of the issue: a hostile file costs at most this much memory over the process baseline. */
export const MEMORY_BOUND_BYTES = 256 * 1024 * 1024;

/**
 * Runs a load that must be refused, sampling the process's RSS meanwhile (every 2 ms between
 * the load's own steps), and returns the error, the peak RSS growth and the wall time (the time
 * is reported by the tests, never asserted).
 */
export async function refusal(load: () => Promise<unknown>): Promise<{ error: unknown; peakGrowth: number; ms: number }> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 2);
  const started = performance.now();
  let error: unknown;
  try {
    await load();
  } catch (e) {
    error = e;
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { error, peakGrowth: peak - base, ms: performance.now() - started };
}

/** Times of the refusals in this run, printed once by {@link printRefusalTimes}. */
const times: { label: string; ms: number; mb: number }[] = [];

/** Asserts a typed BadFileError whose message starts with `file` and matches `reason`, within the memory bound. */
export async function expectRefused(label: string, file: string, reason: RegExp, load: () => Promise<unknown>): Promise<BadFileError> {
  const { error, peakGrowth, ms } = await refusal(load);
  times.push({ label, ms, mb: peakGrowth / 2 ** 20 });
  expect(error, `${label}: expected a BadFileError`).toBeInstanceOf(BadFileError);
  expect((error as BadFileError).code).toBe('BAD_FILE');
  const message = (error as Error).message;
  expect(message.startsWith(`${file}`), `${label}: the message names the file: ${message}`).toBe(true);
  expect(message).toMatch(reason);
  expect(message.length, 'messages are bounded').toBeLessThan(2000);
  expect(peakGrowth, `${label}: peak RSS growth ${Math.round(peakGrowth / 2 ** 20)} MB`).toBeLessThan(MEMORY_BOUND_BYTES);
  return error as BadFileError;
}

/** The refusal times and peak memory of this file's tests (for the closing note; not asserted). */
export function printRefusalTimes(title: string): void {
  if (process.env.EMBEDDING_LAYER_PRINT_TIMES !== '1' || times.length === 0) return;
  const lines = times.map((t) => `  ${t.label}: ${t.ms.toFixed(0)} ms, peak RSS +${t.mb.toFixed(0)} MB`);
  process.stdout.write(`${title}\n${lines.join('\n')}\n`);
}

/** Every file (recursively) below `dir` with its size and bytes: to show that a load or a failed save changed nothing. */
export async function treeSnapshot(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string, prefix: string) => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`);
      else if (entry.isFile() && (await stat(path)).size < 64 * 1024 * 1024) out.set(`${prefix}${entry.name}`, await readFile(path));
      else out.set(`${prefix}${entry.name}`, Buffer.from(`<${entry.isSymbolicLink() ? 'symlink' : 'special'}>`));
    }
  };
  await walk(dir, '');
  return out;
}
