import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { vi } from 'vitest';
// The CLI's command files (packages/cli/src/commands), run in-process by the io tests.
import { registerConvert } from '../../cli/src/commands/convert.js';
import { registerInspect } from '../../cli/src/commands/inspect.js';

// The commander the CLI itself depends on (the root node_modules may hold an older one).
const commanderPath = createRequire(new URL('../../cli/package.json', import.meta.url)).resolve('commander');
const { Command } = (await import(pathToFileURL(commanderPath).href)) as typeof import('commander');

/** Runs `embedding-layer <args>` (inspect and convert) in this process; returns what it printed and its exit code. */
export async function runCli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const program = new Command().exitOverride();
  // Typed against the root commander; at run time it is the CLI's own (same API).
  registerInspect(program as unknown as Parameters<typeof registerInspect>[0]);
  registerConvert(program as unknown as Parameters<typeof registerConvert>[0]);
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'embedding-layer', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return { out: out.join('\n'), err: err.join('\n'), code: Number(process.exitCode ?? 0) };
}
