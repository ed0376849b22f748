import { MissingPeerError } from '@embedding-layer/core';
import { lazyPeer } from '@embedding-layer/core/backend';
import type * as tfjs from '@tensorflow/tfjs';

/** The `@tensorflow/tfjs` module (`import * as tf from '@tensorflow/tfjs'`), as the `runtime` option takes it. */
export type TfjsRuntime = typeof tfjs;

/** The part of `@tensorflow/tfjs-backend-wasm` this package calls. */
interface WasmModule {
  setWasmPaths(prefixOrFileMap: string | Record<string, string>, usePlatformFetch?: boolean): void;
}

/** Imports a module whose name TypeScript and bundlers must not resolve at build time. */
async function importPeer(name: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
}

/** Node hands a CommonJS module to `import()` as `{ default: module.exports, ...named }`; bundlers give the ESM namespace. */
function unwrap<T>(module: Record<string, unknown>, probe: string): T {
  const main = module.default as Record<string, unknown> | undefined;
  return (typeof main === 'object' && main !== null && probe in main ? main : module) as T;
}

function isRuntime(value: unknown): value is TfjsRuntime {
  const tf = value as Partial<TfjsRuntime> | null;
  return (
    typeof tf === 'object' &&
    tf !== null &&
    typeof tf.variable === 'function' &&
    typeof tf.gather === 'function' &&
    typeof tf.setBackend === 'function'
  );
}

/**
 * Returns `runtime` when given (after checking it looks like `@tensorflow/tfjs`), else imports
 * the installed peer, through core's `lazyPeer`: a missing peer rejects with `MissingPeerError`,
 * a `runtime` that is not TF.js with `InvalidConfigError`.
 */
export async function loadTfjs(runtime?: unknown): Promise<TfjsRuntime> {
  return lazyPeer<TfjsRuntime>('@tensorflow/tfjs', {
    load: () => importPeer('@tensorflow/tfjs'),
    pick: (module) => {
      if (isRuntime(module)) return module;
      const inner = (module as { default?: unknown } | null)?.default;
      return isRuntime(inner) ? inner : null;
    },
    ...(runtime !== undefined ? { source: runtime } : {}),
  })();
}

/**
 * Makes sure TF.js's `wasm` backend is registered: imports `@tensorflow/tfjs-backend-wasm`
 * (which registers itself with the shared TF.js engine) unless it already is. In Node the
 * package loads its `.wasm` files from its own folder in node_modules; `wasmPaths`, when
 * given, is passed to its `setWasmPaths` first (nothing is ever fetched from a CDN here).
 */
export async function loadWasmBackend(tf: TfjsRuntime, wasmPaths?: string | Record<string, string>): Promise<void> {
  if (tf.findBackendFactory('wasm') && wasmPaths === undefined) return;
  let module: Record<string, unknown>;
  try {
    module = await importPeer('@tensorflow/tfjs-backend-wasm');
  } catch (cause) {
    throw new MissingPeerError('@tensorflow/tfjs-backend-wasm', { cause });
  }
  if (wasmPaths !== undefined) unwrap<WasmModule>(module, 'setWasmPaths').setWasmPaths(wasmPaths);
}

/**
 * Makes sure TF.js's `webgpu` backend is registered: imports `@tensorflow/tfjs-backend-webgpu`
 * (which registers itself with the shared TF.js engine when `navigator.gpu` exists) unless it
 * already is. In a bundled page, import the package yourself (`import '@tensorflow/tfjs-backend-webgpu'`):
 * a bundler cannot follow this import of a name it does not see.
 */
export async function loadWebgpuBackend(tf: TfjsRuntime): Promise<void> {
  if (tf.findBackendFactory('webgpu')) return;
  try {
    await importPeer('@tensorflow/tfjs-backend-webgpu');
  } catch (cause) {
    throw new MissingPeerError('@tensorflow/tfjs-backend-webgpu', { cause });
  }
}
