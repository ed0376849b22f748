import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';

/**
 * A resolved Keras object (initializer, regularizer or constraint): its canonical Keras class
 * name and its full config with every default filled in, with Keras's snake_case keys.
 */
export interface KerasObject {
  /** Canonical Keras 2 class name, e.g. `RandomUniform`. */
  readonly className: string;
  /** The config with Keras's keys and every default filled in. */
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * How an initializer, regularizer or constraint may be named: a Keras or TF.js name
 * (`'uniform'`, `'glorot_uniform'`, `'GlorotUniform'`, `'glorotUniform'`), or a config object
 * in TS style (`{ className, config }`) or Keras JSON style (`{ class_name, config }`, with
 * the `module` / `registered_name` keys Keras 3 adds).
 */
export type KerasIdentifier =
  | string
  | { className: string; config?: Record<string, unknown> }
  | { class_name: string; config?: Record<string, unknown>; module?: string; registered_name?: string | null };

/** Kind of one config parameter, for validation. */
export type ParamRule =
  | { kind: 'number' }
  | { kind: 'nonNegative' }
  | { kind: 'positive' }
  | { kind: 'seed' }
  | { kind: 'axis' }
  | { kind: 'boolean' }
  | { kind: 'fraction' }
  | { kind: 'enum'; values: readonly string[]; aliases?: Readonly<Record<string, string>> };

/** One registered class of a family: its canonical name, accepted aliases, defaults and rules. */
export interface KerasClassSpec {
  readonly className: string;
  readonly aliases: readonly string[];
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly rules: Readonly<Record<string, ParamRule>>;
  /**
   * Defaults used instead of `defaults` when the class is named by a bare string. Keras's
   * `'l1_l2'` helper means L1L2(0.01, 0.01) while the class `L1L2` defaults to (0, 0).
   */
  readonly stringDefaults?: Readonly<Record<string, unknown>>;
}

/** Keys kept verbatim but never interpreted (old Keras and TF.js configs carry them). */
const PASSTHROUGH_KEYS = new Set(['dtype']);

const describe = describeValue;

function normalizeKey(name: string): string {
  return name.replace(/[_\s]/g, '').toLowerCase();
}

/** Builds a lookup from every alias (case- and underscore-insensitive) to its class spec. */
export function buildRegistry(specs: readonly KerasClassSpec[]): Map<string, KerasClassSpec> {
  const map = new Map<string, KerasClassSpec>();
  for (const spec of specs) {
    for (const alias of [spec.className, ...spec.aliases]) map.set(normalizeKey(alias), spec);
  }
  return map;
}

function checkParam(argument: string, className: string, key: string, value: unknown, rule: ParamRule): unknown {
  const where = `${argument} (${className}.${key})`;
  const fail = (expected: string): never => {
    throw new InvalidConfigError(`${where} must be ${expected}, received ${describe(value)}.`);
  };
  switch (rule.kind) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('a finite number');
      return value;
    case 'nonNegative':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail('a finite number >= 0');
      return value;
    case 'positive':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail('a finite number > 0');
      return value;
    case 'seed':
      if (value === null) return null;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER)
        fail('null or an integer in [0, 2^53)');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') fail('a boolean');
      return value;
    case 'fraction':
      if (typeof value !== 'number' || !(value >= 0 && value < 1)) fail('a number in [0, 1)');
      return value;
    case 'axis':
      if (value !== 0 && value !== 1 && value !== -1 && value !== -2)
        fail('an axis of the (input_dim, output_dim) matrix: 0 (columns), 1 (rows), -1 or -2');
      return value;
    case 'enum': {
      const canonical = typeof value === 'string' ? (rule.aliases?.[value] ?? value) : value;
      if (typeof canonical !== 'string' || !rule.values.includes(canonical))
        fail(`one of ${rule.values.map((v) => JSON.stringify(v)).join(', ')}`);
      return canonical;
    }
  }
}

/**
 * Resolves an identifier against a family's registry: finds the class by any alias, fills
 * defaults, validates each value. Errors name the argument, the value and the rule, and list
 * the known names or keys.
 */
export function resolveKerasObject(
  argument: string,
  family: string,
  registry: Map<string, KerasClassSpec>,
  identifier: unknown,
): KerasObject {
  let name: unknown;
  let given: unknown = {};
  if (typeof identifier === 'string') {
    name = identifier;
  } else if (typeof identifier === 'object' && identifier !== null && !Array.isArray(identifier)) {
    const obj = identifier as Record<string, unknown>;
    name = obj.className ?? obj.class_name;
    given = obj.config ?? {};
  }
  // Keras names first; class names, TF.js camelCase names and aliases are accepted too.
  const known = () => [...new Set([...registry.values()])].map((s) => `${s.aliases[0] ?? s.className} (${s.className})`).join(', ');
  if (typeof name !== 'string') {
    throw new InvalidConfigError(
      `${argument} must be a ${family} name or { className, config } / { class_name, config }, received ${describe(identifier)}. Known ${family}s: ${known()}.`,
    );
  }
  const spec = registry.get(normalizeKey(name));
  if (!spec) {
    throw new InvalidConfigError(`${argument}: unknown ${family} ${JSON.stringify(name)}. Known ${family}s: ${known()}.`);
  }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new InvalidConfigError(`${argument}: the config of ${spec.className} must be an object, received ${describe(given)}.`);
  }
  const config: Record<string, unknown> = {
    ...(typeof identifier === 'string' && spec.stringDefaults ? spec.stringDefaults : spec.defaults),
  };
  for (const [key, value] of Object.entries(given as Record<string, unknown>)) {
    if (PASSTHROUGH_KEYS.has(key)) {
      config[key] = value;
      continue;
    }
    const rule = spec.rules[key];
    if (!rule) {
      const keys = Object.keys(spec.rules);
      throw new InvalidConfigError(
        `${argument}: ${spec.className} has no parameter ${JSON.stringify(key)}. Known parameters: ${keys.length ? keys.join(', ') : '(none)'}.`,
      );
    }
    config[key] = value === undefined ? spec.defaults[key] : checkParam(argument, spec.className, key, value, rule);
  }
  return { className: spec.className, config };
}

/** The Keras JSON form `{ class_name, config }` of a resolved object. */
export function toKerasJson(object: KerasObject | null): { class_name: string; config: Record<string, unknown> } | null {
  return object === null ? null : { class_name: object.className, config: { ...object.config } };
}
