import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { MissingPeerError } from '../errors/missing-peer-error.js';

/** Options of {@link lazyPeer}. */
export interface LazyPeerOptions<T> {
  /** Imports the installed peer, e.g. `() => import('onnxruntime-node')` (called on first use only). */
  readonly load: () => Promise<unknown>;
  /** The runtime inside a loaded module (ESM namespace, or CommonJS `default`), or null when it is not the peer. */
  readonly pick: (module: unknown) => T | null;
  /**
   * The user's `runtime` option: the module itself, or a function that loads it. A module that
   * `pick` rejects is an `InvalidConfigError`; a loader that throws a `MissingPeerError`.
   */
  readonly source?: unknown;
}

/**
 * The one way adapters load a runtime peer (`@tensorflow/tfjs`, `onnxruntime-node`...): lazily,
 * on first use, once. Returns a function that resolves the runtime. A missing peer rejects
 * with `MissingPeerError` (whose message says how to install it or pass it as `runtime`), and
 * the next call tries again (e.g. after the peer was installed); a `runtime` option that is
 * not the peer rejects with `InvalidConfigError`.
 */
export function lazyPeer<T>(peer: string, options: LazyPeerOptions<T>): () => Promise<T> {
  let loading: Promise<T> | null = null;
  const load = async (): Promise<T> => {
    const { source } = options;
    let module: unknown;
    const given = source !== undefined && (typeof source !== 'function' || options.pick(source) !== null);
    if (given) {
      module = source;
    } else {
      try {
        module = await (source === undefined ? options.load() : (source as () => Promise<unknown>)());
      } catch (cause) {
        throw new MissingPeerError(peer, { cause });
      }
    }
    const runtime = options.pick(module);
    if (runtime !== null) return runtime;
    if (source !== undefined) {
      throw new InvalidConfigError(
        `options.runtime must be the ${peer} module (import * as m from '${peer}'), received ${describeValue(module)}.`,
      );
    }
    throw new MissingPeerError(peer, { cause: new TypeError(`the module loaded as ${peer} is not ${peer}.`) });
  };
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = null;
      throw error;
    });
    return loading;
  };
}
