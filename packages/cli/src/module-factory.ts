import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EmbeddingBackend } from '@embedding-layer/core';
import { UsageError } from './options.js';

type Module = Record<string, unknown>;

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || /^[a-zA-Z]:[\\/]/.test(specifier);
}

/** The `import` entry of a package.json `exports` (or `module`/`main`), relative to its folder. */
function entryOf(pkg: Record<string, any>): string | undefined {
  let entry: unknown = pkg.exports;
  if (entry && typeof entry === 'object' && '.' in entry) entry = (entry as Record<string, unknown>)['.'];
  for (let depth = 0; entry && typeof entry === 'object' && depth < 4; depth++) {
    const conditions = entry as Record<string, unknown>;
    entry = conditions.import ?? conditions.node ?? conditions.default ?? conditions.require;
  }
  if (typeof entry === 'string') return entry;
  return pkg.module ?? pkg.main ?? 'index.js';
}

/**
 * Imports a backend package the way its user would: a path (`./dist/index.js`) relative to the
 * working directory, or a package name resolved from the CLI's install first and from the
 * working directory's node_modules next (so `npx embedding-layer conformance --module my-adapter`
 * works in the adapter's own project).
 */
export async function importBackendModule(specifier: string, cwd = process.cwd()): Promise<Module> {
  if (isPath(specifier)) return (await import(pathToFileURL(resolve(cwd, specifier)).href)) as Module;
  try {
    return (await import(/* @vite-ignore */ specifier)) as Module;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
  const require = createRequire(join(cwd, 'noop.js'));
  let packageJsonPath: string;
  try {
    packageJsonPath = require.resolve(`${specifier}/package.json`);
  } catch {
    try {
      return (await import(pathToFileURL(require.resolve(specifier)).href)) as Module;
    } catch {
      throw new UsageError(
        `Cannot find module ${JSON.stringify(specifier)} from ${cwd}. Install it (npm install ${specifier}) or pass a path to its entry file (--module ./dist/index.js).`,
      );
    }
  }
  const pkg = JSON.parse(await readFile(packageJsonPath, 'utf8')) as Record<string, any>;
  return (await import(pathToFileURL(join(dirname(packageJsonPath), entryOf(pkg)!)).href)) as Module;
}

/** Names of the module's exports that look like backend factories (`create...Backend`). */
export function factoryCandidates(module: Module): string[] {
  return Object.keys(module).filter((k) => /^create\w*Backend$/.test(k) && typeof module[k] === 'function');
}

/**
 * Loads `--module PKG --factory NAME` into a backend factory. Without `factory`, the module's
 * only `create...Backend` export is used; none or several is a {@link UsageError} listing them.
 */
export async function loadModuleFactory(
  specifier: string,
  factory?: string,
  cwd?: string,
): Promise<{ name: string; create: () => Promise<EmbeddingBackend> }> {
  const module = await importBackendModule(specifier, cwd);
  const candidates = factoryCandidates(module);
  const name = factory ?? (candidates.length === 1 ? candidates[0]! : undefined);
  if (name === undefined) {
    throw new UsageError(
      candidates.length === 0
        ? `${specifier} exports no create...Backend function; pass --factory NAME (its exports: ${Object.keys(module).join(', ') || 'none'}).`
        : `${specifier} exports several backend factories (${candidates.join(', ')}); pick one with --factory NAME.`,
    );
  }
  const fn = module[name];
  if (typeof fn !== 'function') {
    throw new UsageError(
      `${specifier} has no function export ${JSON.stringify(name)}. Functions it exports: ${
        Object.keys(module)
          .filter((k) => typeof module[k] === 'function')
          .join(', ') || 'none'
      }.`,
    );
  }
  const create = async () => {
    const backend = (await (fn as () => unknown)()) as EmbeddingBackend;
    if (typeof backend !== 'object' || backend === null || typeof backend.doCreateTable !== 'function') {
      throw new UsageError(`${specifier}'s ${name}() did not return an embedding backend (an object with doCreateTable).`);
    }
    return backend;
  };
  const probe = await create();
  return { name: typeof probe.name === 'string' && probe.name.length > 0 ? probe.name : `${specifier}#${name}`, create };
}
