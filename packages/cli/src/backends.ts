import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding, type EmbeddingBackend } from '@embedding-layer/core';

/** A backend the CLI knows how to load, if its package is installed. */
export interface KnownBackend {
  /** Short name used by `--backend`. */
  name: string;
  /** The npm package that provides it. */
  packageName: string;
  /** Loads the package and makes a fresh backend; rejects when the package (or its runtime peer) is missing. */
  create: () => Promise<EmbeddingBackend>;
  /** Only when named (`--backend redis`): it needs a server, so runs without `--backend` leave it out. */
  explicitOnly?: boolean;
}

/** Imports an optional package by a name TypeScript does not resolve at build time. */
async function importOptional(name: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
}

function factory(packageName: string, exportName: string, options?: unknown): () => Promise<EmbeddingBackend> {
  return async () => {
    const module = await importOptional(packageName);
    const create = module[exportName] as (options?: unknown) => EmbeddingBackend | Promise<EmbeddingBackend>;
    return create(options);
  };
}

/** Every backend this repository ships, in display order. */
export const KNOWN_BACKENDS: readonly KnownBackend[] = [
  { name: 'js', packageName: '@embedding-layer/adapter-js', create: async () => createJsBackend() },
  {
    name: 'tfjs-cpu',
    packageName: '@embedding-layer/adapter-tfjs',
    create: factory('@embedding-layer/adapter-tfjs', 'createTfjsBackend', { backend: 'cpu' }),
  },
  {
    name: 'tfjs-wasm',
    packageName: '@embedding-layer/adapter-tfjs',
    create: factory('@embedding-layer/adapter-tfjs', 'createTfjsBackend', { backend: 'wasm' }),
  },
  { name: 'onnx', packageName: '@embedding-layer/adapter-onnx', create: factory('@embedding-layer/adapter-onnx', 'createOnnxBackend') },
  {
    // The Redis Cluster (or node) named by EMBEDDING_LAYER_REDIS_NODES; each backend writes its own scratch tables and drops them.
    name: 'redis',
    packageName: '@embedding-layer/adapter-redis',
    create: async () =>
      factory('@embedding-layer/adapter-redis', 'createRedisBackend', {
        table: () => `cli-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
        dropOnDispose: true,
      })(),
    explicitOnly: true,
  },
];

/** A backend that loaded, or the reason it did not. */
export type LoadedBackend =
  | {
      /** The backend's short name. */
      name: string;
      /** Makes a fresh backend. */
      create: () => Promise<EmbeddingBackend>;
    }
  | {
      /** The backend's short name. */
      name: string;
      /** Why it could not be loaded. */
      missing: string;
    };

/**
 * The npm package a failed import names: `Cannot find package 'onnxruntime-node' imported from
 * ...` (Node's ESM resolver) or `Cannot find module '/x/node_modules/@scope/name/dist/index.js'`.
 */
export function missingPackageOf(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const match = /Cannot find (?:package|module) '([^']+)'/.exec(message);
  if (!match) return undefined;
  const spec = match[1]!;
  const inNodeModules = spec.lastIndexOf('node_modules/');
  const rest = inNodeModules >= 0 ? spec.slice(inNodeModules + 'node_modules/'.length) : spec;
  if (rest.startsWith('.') || rest.startsWith('/')) return undefined;
  const parts = rest.split('/');
  return rest.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Why a known backend could not be loaded, naming the package that is actually missing: the
 * adapter itself, or its runtime peer (`onnxruntime-node` absent while
 * `@embedding-layer/adapter-onnx` is installed says so, not "adapter-onnx not installed").
 */
export function describeLoadFailure(packageName: string, error: unknown): string {
  const { code, peer } = (error ?? {}) as { code?: string; peer?: string };
  if (code === 'MISSING_PEER' && peer) return `${peer} not installed (the runtime peer of ${packageName}): npm install ${peer}`;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    const missing = missingPackageOf(error);
    if (missing === undefined || missing === packageName) return `${packageName} not installed`;
    return `${missing} not installed (needed by ${packageName}): npm install ${missing}`;
  }
  return `${packageName} not usable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
}

/** Tries each known backend (optionally only those named) and reports which are installed. */
export async function loadBackends(names?: readonly string[], known: readonly KnownBackend[] = KNOWN_BACKENDS): Promise<LoadedBackend[]> {
  const wanted = names ? known.filter((b) => names.includes(b.name)) : known.filter((b) => !b.explicitOnly);
  const out: LoadedBackend[] = [];
  for (const b of wanted) {
    try {
      // Adapters load their runtime lazily, when a layer is created: probe with a 1x1 layer.
      const probe = await Embedding.create({ inputDim: 1, outputDim: 1, seed: 0 }, { backend: await b.create() });
      await probe.dispose();
      out.push({ name: b.name, create: b.create });
    } catch (error) {
      out.push({ name: b.name, missing: describeLoadFailure(b.packageName, error) });
    }
  }
  return out;
}
