import type { ResolvedEmbeddingConfig } from '../config/embedding-config.js';
import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { checkManifest } from '../spec/manifest.js';
import type {
  BackendCapabilitiesV2,
  EmbeddingBackendV2,
  EmbeddingTableV2,
  MaybePromise,
  NativeTensorsV2,
  NativeTypes,
  RowSource,
} from '../spec/v2/embedding-backend-v2.js';

/** What {@link defineBackend} takes: a v2 backend without its version, with a partial manifest. */
export interface BackendDefinition<N extends NativeTypes = NativeTypes> {
  /** Short name shown in errors and reports, e.g. `'js'`. */
  readonly name: string;
  /** Capabilities; absent ones take the defaults (no training, no export, float32 storage, JS's own limits). */
  readonly supports?: Partial<BackendCapabilitiesV2>;
  /** The backend's own tensor type, for `Embedding.lookupNative`. */
  readonly native?: NativeTensorsV2;
  /** Creates a table: see {@link EmbeddingBackendV2.doCreateTable}. */
  doCreateTable(config: ResolvedEmbeddingConfig, initial: RowSource): MaybePromise<EmbeddingTableV2<N>>;
}

/**
 * Makes a v2 backend for adapter authors: fills `specificationVersion`, checks the manifest
 * (unknown keys and wrong types are an `InvalidConfigError` naming the key), fills the
 * capability defaults and freezes the result, so `supports` cannot change after layers were
 * made with it. Core also checks that each table has the hooks the manifest promises.
 *
 * @example
 * ```ts
 * export function createMyBackend(): EmbeddingBackendV2 {
 *   return defineBackend({
 *     name: 'my-backend',
 *     supports: { training: true },
 *     async doCreateTable(config, initial) {
 *       const table = await readAllRows(initial);
 *       return new MyTable(table, config.outputDim);
 *     },
 *   });
 * }
 * ```
 */
export function defineBackend<N extends NativeTypes = NativeTypes>(definition: BackendDefinition<N>): EmbeddingBackendV2<N> {
  if (typeof definition !== 'object' || definition === null) {
    throw new InvalidConfigError(`defineBackend expects { name, supports, doCreateTable }, received ${describeValue(definition)}.`);
  }
  const { name, supports, native, doCreateTable } = definition;
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidConfigError(`defineBackend: name must be a non-empty string, received ${describeValue(name)}.`);
  }
  if (typeof doCreateTable !== 'function') {
    throw new InvalidConfigError(
      `defineBackend (${JSON.stringify(name)}): doCreateTable must be a function, received ${describeValue(doCreateTable)}.`,
    );
  }
  if (
    native !== undefined &&
    (typeof native !== 'object' || native === null || typeof native.read !== 'function' || typeof native.kind !== 'string')
  ) {
    throw new InvalidConfigError(
      `defineBackend (${JSON.stringify(name)}): native must be { kind, read(value) }, received ${describeValue(native)}.`,
    );
  }
  return Object.freeze({
    specificationVersion: 'v2' as const,
    name,
    supports: checkManifest(name, supports ?? {}),
    ...(native !== undefined ? { native: Object.freeze({ ...native }) } : {}),
    doCreateTable: (config: ResolvedEmbeddingConfig, initial: RowSource) => doCreateTable.call(definition, config, initial),
  });
}
