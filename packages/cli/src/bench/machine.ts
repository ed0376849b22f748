import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { Machine } from './types.js';

const PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node', 'tinybench'];

/** The installed version of a package, found from this file or the working directory; undefined when absent. */
function versionOf(name: string): string | undefined {
  for (const from of [import.meta.url, join(process.cwd(), 'noop.js')]) {
    const require = createRequire(from);
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      try {
        // Packages whose `exports` hide package.json: walk up from their entry.
        let dir = dirname(require.resolve(name));
        for (let i = 0; i < 5; i++, dir = dirname(dir)) {
          try {
            const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
            if (pkg.name === name) return pkg.version;
          } catch {
            // keep walking up
          }
        }
      } catch {
        // not resolvable from here
      }
    }
  }
  return undefined;
}

/** `git describe` of the working directory (short commit, `-dirty` when it has changes), if it is a checkout. */
function revision(): string | undefined {
  try {
    return (
      execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

/** CPU model, cores, memory, Node version and the versions of the runtimes measured. */
export function describeMachine(): Machine {
  const list = cpus();
  const versions: Record<string, string> = {};
  const rev = revision();
  for (const name of PACKAGES) {
    const v = versionOf(name);
    if (v) versions[name] = v;
  }
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    versions,
    ...(rev ? { revision: rev } : {}),
  };
}
