import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
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

/** CPU model, cores, memory, Node version and the versions of the runtimes measured. */
export function describeMachine(): Machine {
  const list = cpus();
  const versions: Record<string, string> = {};
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
    versions,
  };
}
