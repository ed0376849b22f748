import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { STORAGE, type StorageCapability } from '../storage/capabilities.js';
import { MAX_ARRAY_LENGTH } from '../tensor/limits.js';
import { OPTIMIZERS } from '../training/optimizers/registry.js';
import type { BackendCapabilitiesV2, OptimizerSupportV2 } from './v2/embedding-backend-v2.js';

/** The capability keys of a v2 manifest, in order. */
export const CAPABILITY_KEYS: readonly (keyof BackendCapabilitiesV2)[] = [
  'training',
  'lookupInto',
  'export',
  'storage',
  'maxTableBytes',
  'maxOutputBytes',
  'optimizers',
];

/**
 * The defaults `defineBackend` fills: no training, no lookup into buffers, no export, float32,
 * and JavaScript's own limits (one Float32Array: 2^32 - 1 values) for the table and for a
 * lookup's output. A backend that holds bigger tables (sharded, remote) declares its own.
 */
export const DEFAULT_CAPABILITIES: BackendCapabilitiesV2 = Object.freeze({
  training: false,
  lookupInto: false,
  export: Object.freeze([]) as readonly string[],
  storage: STORAGE.float32,
  maxTableBytes: MAX_ARRAY_LENGTH * 4,
  maxOutputBytes: MAX_ARRAY_LENGTH * 4,
  optimizers: Object.freeze([]) as readonly OptimizerSupportV2[],
});

function fail(backend: string, key: string, value: unknown, rule: string): never {
  throw new InvalidConfigError(`Backend ${JSON.stringify(backend)}: supports.${key} must be ${rule}, received ${describeValue(value)}.`);
}

function checkStorage(backend: string, value: unknown): StorageCapability {
  const s = value as Partial<StorageCapability> | null;
  const rule = 'a StorageCapability ({ dtype, bytesPerValue, bound: { relative, absolute }, maxValue, nonFinite }), e.g. STORAGE.int8';
  if (typeof s !== 'object' || s === null) fail(backend, 'storage', value, rule);
  const b = s.bound as Partial<StorageCapability['bound']> | undefined;
  const nonNegative = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (
    typeof s.dtype !== 'string' ||
    s.dtype.length === 0 ||
    !nonNegative(s.bytesPerValue) ||
    typeof b !== 'object' ||
    b === null ||
    !nonNegative(b.relative) ||
    !nonNegative(b.absolute) ||
    !(typeof s.maxValue === 'number' && s.maxValue > 0) ||
    typeof s.nonFinite !== 'boolean'
  ) {
    fail(backend, 'storage', value, rule);
  }
  // A storage core's codec knows must not claim a tighter bound than the codec has.
  const known = STORAGE[s.dtype as keyof typeof STORAGE] as StorageCapability | undefined;
  if (known && (b.relative! < known.bound.relative || b.absolute! < known.bound.absolute)) {
    fail(backend, 'storage.bound', b, `at least core's documented bound for ${s.dtype} (${JSON.stringify(known.bound)})`);
  }
  return Object.freeze({ ...(s as StorageCapability), bound: Object.freeze({ relative: b.relative!, absolute: b.absolute! }) });
}

/** `supports.optimizers`: entries naming core's optimizers by Keras class name, `only` on their config keys, a relative error >= 0. */
function checkOptimizers(backend: string, value: unknown, training: boolean): readonly OptimizerSupportV2[] {
  const rule = `an array of { className, only, relativeError } (className one of ${OPTIMIZERS.map((o) => o.className).join(', ')})`;
  if (!Array.isArray(value)) fail(backend, 'optimizers', value, rule);
  if (value.length > 0 && !training)
    fail(backend, 'optimizers', value, 'empty unless supports.training is true (core still calls doScatterAdd)');
  return Object.freeze(
    value.map((entry: unknown, i) => {
      const e = entry as Partial<OptimizerSupportV2> | null;
      const known = OPTIMIZERS.find((o) => typeof e === 'object' && e !== null && o.className === e.className);
      if (!known) fail(backend, `optimizers[${i}].className`, e?.className, rule);
      const only = e!.only ?? {};
      if (typeof only !== 'object' || only === null || Array.isArray(only))
        fail(backend, `optimizers[${i}].only`, only, 'an object of config values');
      for (const [key, v] of Object.entries(only)) {
        if (!(key in known.defaults)) {
          fail(
            backend,
            `optimizers[${i}].only.${key}`,
            v,
            `a config key of ${known.className} (${Object.keys(known.defaults).join(', ')})`,
          );
        }
        if (typeof v !== 'number' && typeof v !== 'boolean') fail(backend, `optimizers[${i}].only.${key}`, v, 'a number or a boolean');
      }
      const r = e!.relativeError;
      if (typeof r !== 'number' || !Number.isFinite(r) || r < 0) fail(backend, `optimizers[${i}].relativeError`, r, 'a finite number >= 0');
      return Object.freeze({ className: known.className, only: Object.freeze({ ...only }), relativeError: r });
    }),
  );
}

/**
 * Checks a capability manifest and returns it complete (defaults filled) and frozen. An
 * unknown key (such as v1's `nativeMask` or `dtypes`) or a value of the wrong type is an
 * `InvalidConfigError` naming the backend, the key and the rule.
 */
export function checkManifest(backend: string, supports: unknown): BackendCapabilitiesV2 {
  if (supports === undefined) return DEFAULT_CAPABILITIES;
  if (typeof supports !== 'object' || supports === null || Array.isArray(supports)) {
    throw new InvalidConfigError(`Backend ${JSON.stringify(backend)}: supports must be an object, received ${describeValue(supports)}.`);
  }
  const given = supports as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(CAPABILITY_KEYS as readonly string[]).includes(key)) {
      throw new InvalidConfigError(
        `Backend ${JSON.stringify(backend)}: supports.${key} is not a v2 capability. Capabilities: ${CAPABILITY_KEYS.join(', ')}.`,
      );
    }
  }
  const out = { ...DEFAULT_CAPABILITIES } as { -readonly [K in keyof BackendCapabilitiesV2]: BackendCapabilitiesV2[K] };
  for (const key of ['training', 'lookupInto'] as const) {
    const v = given[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') fail(backend, key, v, 'a boolean');
    out[key] = v;
  }
  if (given.export !== undefined) {
    const v = given.export;
    if (!Array.isArray(v) || !v.every((f) => typeof f === 'string' && f.length > 0)) fail(backend, 'export', v, 'an array of format names');
    out.export = Object.freeze([...(v as string[])]);
  }
  if (given.storage !== undefined) out.storage = checkStorage(backend, given.storage);
  for (const key of ['maxTableBytes', 'maxOutputBytes'] as const) {
    const v = given[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v >= 0)) fail(backend, key, v, 'a number of bytes >= 0 (Infinity for no limit)');
    out[key] = v;
  }
  if (given.optimizers !== undefined) out.optimizers = checkOptimizers(backend, given.optimizers, out.training);
  return Object.freeze(out);
}
