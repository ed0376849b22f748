import { describeValue } from '../errors/describe-value.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';

/** How one option of a backend factory is checked by {@link checkBackendOptions}. */
export type OptionRule =
  | { readonly kind: 'oneOf'; readonly values: readonly (string | number | boolean)[] }
  | { readonly kind: 'integer'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'string' }
  | { readonly kind: 'array'; readonly minLength?: number }
  /** Checked by the adapter itself (a module, a function...); only known to exist. */
  | { readonly kind: 'any' };

function ruleText(rule: OptionRule): string {
  switch (rule.kind) {
    case 'oneOf':
      return `one of ${rule.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'integer':
    case 'number': {
      const what = rule.kind === 'integer' ? 'an integer' : 'a finite number';
      const parts = [rule.min !== undefined ? `>= ${rule.min}` : '', rule.max !== undefined ? `<= ${rule.max}` : ''].filter(Boolean);
      return parts.length ? `${what} ${parts.join(' and ')}` : what;
    }
    case 'boolean':
      return 'a boolean';
    case 'string':
      return 'a non-empty string';
    case 'array':
      return rule.minLength ? `an array of at least ${rule.minLength} item(s)` : 'an array';
    case 'any':
      return 'set';
  }
}

function passes(value: unknown, rule: OptionRule): boolean {
  switch (rule.kind) {
    case 'oneOf':
      return rule.values.includes(value as string);
    case 'integer':
    case 'number':
      return (
        typeof value === 'number' &&
        (rule.kind === 'integer' ? Number.isSafeInteger(value) : Number.isFinite(value)) &&
        (rule.min === undefined || value >= rule.min) &&
        (rule.max === undefined || value <= rule.max)
      );
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string' && value.length > 0;
    case 'array':
      return Array.isArray(value) && value.length >= (rule.minLength ?? 0);
    case 'any':
      return true;
  }
}

/**
 * An `InvalidConfigError` for one option of a backend factory: names the factory, the option,
 * the rule and (a bounded summary of) the value received. For checks {@link checkBackendOptions}
 * cannot express, such as options that exclude each other.
 */
export function optionError(factory: string, option: string, value: unknown, rule: string): InvalidConfigError {
  return new InvalidConfigError(`${factory}: options.${option} must be ${rule}, received ${describeValue(value)}.`);
}

/**
 * Checks a backend factory's options against `rules` and returns them typed: `options` must be
 * undefined or an object, every key must have a rule (an unknown key lists the known ones),
 * and every value that is not undefined must pass its rule. Errors are `InvalidConfigError`s
 * naming the factory, the option, the rule and the value, so every adapter reports a bad option
 * the same way (adapters fill their own defaults with `??`).
 *
 * @example
 * ```ts
 * const { storage = 'float32' } = checkBackendOptions<MyOptions>('createMyBackend', options, {
 *   storage: { kind: 'oneOf', values: ['float32', 'float16', 'int8'] },
 * });
 * ```
 */
export function checkBackendOptions<T extends object>(factory: string, options: unknown, rules: Readonly<Record<string, OptionRule>>): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError(`${factory}: options must be an object, received ${describeValue(options)}.`);
  }
  for (const [key, value] of Object.entries(options)) {
    const rule = rules[key];
    if (!rule) {
      throw new InvalidConfigError(`${factory}: unknown option ${JSON.stringify(key)}. Options: ${Object.keys(rules).join(', ')}.`);
    }
    if (value !== undefined && !passes(value, rule)) throw optionError(factory, key, value, ruleText(rule));
  }
  return options as T;
}
