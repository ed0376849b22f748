import type { ResolvedEmbeddingConfig } from '../config/embedding-config.js';
import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { SpecVersionError } from '../errors/spec-version-error.js';
import { STORAGE } from '../storage/capabilities.js';
import { MAX_ARRAY_LENGTH } from '../tensor/limits.js';
import { readAllRows } from '../tensor/rows.js';
import type { EmbeddingBackend } from './index.js';
import { SPECIFICATION_VERSIONS } from './index.js';
import { checkManifest } from './manifest.js';
import type { EmbeddingBackendV1, EmbeddingTableV1 } from './v1/embedding-backend-v1.js';
import type {
  BackendCapabilitiesV2,
  EmbeddingTableV2,
  NativeTensorsV2,
  NativeTypes,
  RowSource,
  TableReplacementV2,
} from './v2/embedding-backend-v2.js';

/** A backend as core uses it, whatever its specification version: v1 backends are adapted to the v2 hooks. */
export interface OpenedBackend {
  readonly name: string;
  readonly version: 'v1' | 'v2';
  readonly supports: BackendCapabilitiesV2;
  readonly native: NativeTensorsV2 | null;
  createTable(config: ResolvedEmbeddingConfig, initial: RowSource): Promise<EmbeddingTableV2>;
}

/** Opened backends, per backend object (a backend is checked once). */
const opened = new WeakMap<object, OpenedBackend>();

/**
 * Checks `backend` (an object with `doCreateTable` and a known `specificationVersion`) and its
 * manifest, and returns it as core uses it. A v1 backend's tables are adapted to the v2 hooks.
 */
export function openBackend(backend: unknown): OpenedBackend {
  if (typeof backend === 'object' && backend !== null) {
    const hit = opened.get(backend);
    if (hit) return hit;
  }
  const b = backend as Partial<EmbeddingBackend> | undefined;
  if (typeof b !== 'object' || b === null || typeof b.doCreateTable !== 'function') {
    throw new InvalidConfigError(
      `options.backend must be an embedding backend (e.g. createJsBackend()), received ${describeValue(backend)}.`,
    );
  }
  const name = typeof b.name === 'string' && b.name.length > 0 ? b.name : '(unnamed)';
  let result: OpenedBackend;
  if (b.specificationVersion === 'v2') {
    const v2 = b as EmbeddingBackend & { specificationVersion: 'v2' };
    const native = v2.native ?? null;
    if (native !== null && (typeof native !== 'object' || typeof native.read !== 'function' || typeof native.kind !== 'string')) {
      throw new InvalidConfigError(
        `Backend ${JSON.stringify(name)}: native must be { kind, read(value) }, received ${describeValue(native)}.`,
      );
    }
    const supports = checkManifest(name, v2.supports);
    result = {
      name,
      version: 'v2',
      supports,
      native,
      async createTable(config, initial) {
        const table = await v2.doCreateTable(config, initial);
        checkTable(name, supports, native, table as EmbeddingTableV2);
        return table as EmbeddingTableV2;
      },
    };
  } else if (b.specificationVersion === 'v1') {
    result = openV1(name, b as EmbeddingBackendV1);
  } else {
    throw new SpecVersionError(JSON.stringify(name), describeValue(b.specificationVersion), SPECIFICATION_VERSIONS);
  }
  opened.set(b, result);
  return result;
}

/** A table must have the hooks its backend's manifest promises. */
function checkTable(backend: string, supports: BackendCapabilitiesV2, native: NativeTensorsV2 | null, table: EmbeddingTableV2): void {
  const missing: string[] = [];
  if (typeof table !== 'object' || table === null) {
    throw new InvalidConfigError(`Backend ${JSON.stringify(backend)}: doCreateTable returned ${describeValue(table)}, not a table.`);
  }
  for (const hook of ['doLookup', 'doReadRows', 'doWriteRows', 'doDispose'] as const)
    if (typeof table[hook] !== 'function') missing.push(hook);
  if (supports.training && typeof table.doScatterAdd !== 'function') missing.push('doScatterAdd (supports.training)');
  if (supports.optimizers.length > 0 && typeof table.doApplyOptimizer !== 'function')
    missing.push('doApplyOptimizer (supports.optimizers)');
  if (supports.export.length > 0 && typeof table.doExport !== 'function') missing.push('doExport (supports.export)');
  if (native !== null && typeof table.doLookupNative !== 'function') missing.push('doLookupNative (native)');
  if (missing.length > 0) {
    throw new InvalidConfigError(
      `Backend ${JSON.stringify(backend)}: its table lacks ${missing.join(', ')}, which the v2 contract requires.`,
    );
  }
}

/** v1's manifest in v2 terms: v1 tables are float32 (its `dtypes` and `nativeMask` had no effect). */
function v1Capabilities(name: string, backend: EmbeddingBackendV1): BackendCapabilitiesV2 {
  const s = backend.supports ?? {};
  return checkManifest(name, {
    training: s.training === true,
    lookupInto: s.lookupInto === true,
    export: [...(s.export ?? [])],
    storage: STORAGE.float32,
    ...(s.maxTableBytes !== undefined ? { maxTableBytes: s.maxTableBytes } : {}),
    maxOutputBytes: MAX_ARRAY_LENGTH * 4,
  });
}

function openV1(name: string, backend: EmbeddingBackendV1): OpenedBackend {
  const supports = v1Capabilities(name, backend);
  return {
    name,
    version: 'v1',
    supports,
    native: null,
    async createTable(config, initial) {
      // v1 tables take the whole table as one Float32Array.
      const table = await backend.doCreateTable(config, await readAllRows(initial, name));
      return adaptV1Table(table, config.outputDim, supports.training);
    },
  };
}

/** A v1 table behind the v2 hooks: row ranges through `doGetWeights` / `doSetWeights` (whole tables, as v1 has them). */
function adaptV1Table(table: EmbeddingTableV1, d: number, training: boolean): EmbeddingTableV2<NativeTypes> {
  const adapted: EmbeddingTableV2<NativeTypes> = {
    doLookup: (indices, out) => table.doLookup(indices, out),
    doReadRows: (start, count) => table.doGetWeights().slice(start * d, (start + count) * d),
    doWriteRows(start, rows) {
      const next = table.doGetWeights().slice();
      next.set(rows, start * d);
      table.doSetWeights(next);
    },
    doBeginReplace(): TableReplacementV2 {
      let next: Float32Array | null = table.doGetWeights().slice();
      return {
        write(start, rows) {
          next!.set(rows, start * d);
        },
        commit() {
          table.doSetWeights(next!);
          next = null;
        },
        abort() {
          next = null;
        },
      };
    },
    doDispose: () => table.doDispose(),
  };
  if (training && table.doScatterAdd) adapted.doScatterAdd = (rows, deltas) => table.doScatterAdd!(rows, deltas);
  if (table.doExport) adapted.doExport = (format) => table.doExport!(format);
  return adapted;
}
