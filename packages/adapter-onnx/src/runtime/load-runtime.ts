import { InvalidConfigError, MissingPeerError } from '@embedding-layer/core';
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

/** A CommonJS module imported from ESM may expose its exports on `default` only. */
function unwrap(module: unknown): unknown {
  if (isRuntime(module)) return module;
  const inner = (module as { default?: unknown } | null)?.default;
  return isRuntime(inner) ? inner : module;
}

/**
 * Resolves the ONNX Runtime module: the given one, or `import('onnxruntime-node')` at call
 * time (never at package load time, so the model builder works without the runtime).
 *
 * @throws MissingPeerError when onnxruntime-node cannot be imported.
 * @throws InvalidConfigError when `source` is not the onnxruntime-node module.
 */
export async function loadOnnxRuntime(source?: OnnxRuntimeSource): Promise<OnnxRuntime> {
  let module: unknown;
  if (source === undefined) {
    try {
      module = await import('onnxruntime-node');
    } catch (error) {
      throw new MissingPeerError(PEER, { cause: error });
    }
  } else if (typeof source === 'function' && !isRuntime(source)) {
    try {
      module = await source();
    } catch (error) {
      throw new MissingPeerError(PEER, { cause: error });
    }
  } else {
    module = source;
  }
  const runtime = unwrap(module);
  if (!isRuntime(runtime)) {
    throw new InvalidConfigError(
      `options.runtime must be the onnxruntime-node module (with InferenceSession.create and Tensor), e.g. import * as ort from 'onnxruntime-node'; received ${
        runtime === null ? 'null' : typeof runtime
      }.`,
    );
  }
  return runtime;
}
