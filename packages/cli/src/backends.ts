import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding, type EmbeddingBackendV1 } from '@embedding-layer/core';

/** A backend the CLI knows how to load, if its package is installed. */
export interface KnownBackend {
  /** Short name used by `--backend`. */
  name: string;
  /** The npm package that provides it. */
  packageName: string;
  /** Loads the package and makes a fresh backend; rejects when the package (or its runtime peer) is missing. */
  create: () => Promise<EmbeddingBackendV1>;
}

/** Imports an optional package by a name TypeScript does not resolve at build time. */
async function importOptional(name: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
}

function factory(packageName: string, exportName: string, options?: unknown): () => Promise<EmbeddingBackendV1> {
  return async () => {
    const module = await importOptional(packageName);
    const create = module[exportName] as (options?: unknown) => EmbeddingBackendV1 | Promise<EmbeddingBackendV1>;
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
];

/** A backend that loaded, or the reason it did not. */
export type LoadedBackend =
  | {
      /** The backend's short name. */
      name: string;
      /** Makes a fresh backend. */
      create: () => Promise<EmbeddingBackendV1>;
    }
  | {
      /** The backend's short name. */
      name: string;
      /** Why it could not be loaded. */
      missing: string;
    };

/** Tries each known backend (optionally only those named) and reports which are installed. */
export async function loadBackends(names?: readonly string[]): Promise<LoadedBackend[]> {
  const wanted = names ? KNOWN_BACKENDS.filter((b) => names.includes(b.name)) : KNOWN_BACKENDS;
  const out: LoadedBackend[] = [];
  for (const b of wanted) {
    try {
      // Adapters load their runtime lazily, when a layer is created: probe with a 1x1 layer.
      const probe = await Embedding.create({ inputDim: 1, outputDim: 1, seed: 0 }, { backend: await b.create() });
      await probe.dispose();
      out.push({ name: b.name, create: b.create });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const notInstalled = code === 'ERR_MODULE_NOT_FOUND' || code === 'MISSING_PEER';
      const reason = notInstalled
        ? 'not installed'
        : `not usable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
      out.push({ name: b.name, missing: `${b.packageName} ${reason}` });
    }
  }
  return out;
}
