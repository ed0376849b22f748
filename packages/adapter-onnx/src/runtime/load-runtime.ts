import { lazyPeer } from '@embedding-layer/core/backend';
import type * as Ort from 'onnxruntime-node';

/**
 * The parts of the `onnxruntime-node` module this package uses (`InferenceSession` and
 * `Tensor`). Pass the module itself: `import * as ort from 'onnxruntime-node'`.
 */
export type OnnxRuntime = Pick<typeof Ort, 'InferenceSession' | 'Tensor'>;

/** The `runtime` option: the module, or a function that loads it (e.g. `() => import('onnxruntime-node')`). */
export type OnnxRuntimeSource = OnnxRuntime | (() => Promise<OnnxRuntime>);

const PEER = 'onnxruntime-node';

function isRuntime(value: unknown): value is OnnxRuntime {
  const m = value as { InferenceSession?: { create?: unknown }; Tensor?: unknown } | null;
  return (
    (typeof m === 'object' || typeof m === 'function') &&
    m !== null &&
    typeof m.InferenceSession?.create === 'function' &&
    typeof m.Tensor === 'function'
  );
}

/** The runtime in a module: itself, or (a CommonJS module imported from ESM) its `default`. */
export function pickOnnxRuntime(module: unknown): OnnxRuntime | null {
  if (isRuntime(module)) return module;
  const inner = (module as { default?: unknown } | null)?.default;
  return isRuntime(inner) ? inner : null;
}

/** One loader per source (the module, a loader function, or the installed peer). */
const loaders = new WeakMap<object, () => Promise<OnnxRuntime>>();
let installed: (() => Promise<OnnxRuntime>) | null = null;

/**
 * Resolves the ONNX Runtime module: the given one, or `import('onnxruntime-node')` at call
 * time (never at package load time, so the model builder works without the runtime), through
 * core's `lazyPeer`: loaded once, and tried again after a failure.
 *
 * @throws MissingPeerError when onnxruntime-node cannot be imported.
 * @throws InvalidConfigError when `source` is not the onnxruntime-node module.
 */
export async function loadOnnxRuntime(source?: OnnxRuntimeSource): Promise<OnnxRuntime> {
  if (source === undefined) {
    installed ??= lazyPeer(PEER, { load: () => import('onnxruntime-node'), pick: pickOnnxRuntime });
    return installed();
  }
  if ((typeof source !== 'object' && typeof source !== 'function') || source === null) {
    return lazyPeer(PEER, { load: async () => source, pick: pickOnnxRuntime, source })();
  }
  let loader = loaders.get(source);
  if (!loader) {
    loader = lazyPeer(PEER, { load: () => import('onnxruntime-node'), pick: pickOnnxRuntime, source });
    loaders.set(source, loader);
  }
  return loader();
}
