import { KNOWN_BACKENDS } from './backends.js';

/** Alternative spellings of backend names accepted by `--backend` (the issue text says `tfjs` for the TF.js CPU backend). */
export const BACKEND_ALIASES: Readonly<Record<string, string>> = { tfjs: 'tfjs-cpu', cpu: 'tfjs-cpu', wasm: 'tfjs-wasm', ort: 'onnx' };

/** Thrown for a bad command-line value; the CLI prints its message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Splits a comma-separated option value (`"js, onnx"`) into trimmed, non-empty, distinct items. */
export function splitList(value: string): string[] {
  return [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    ),
  ];
}

/**
 * Parses `--backend js,tfjs,tfjs-wasm,onnx` into known backend names (aliases resolved, order
 * of {@link KNOWN_BACKENDS} kept). An unknown name throws a {@link UsageError} listing the known ones.
 */
export function parseBackendNames(value: string): string[] {
  const known = KNOWN_BACKENDS.map((b) => b.name);
  const wanted = splitList(value).map((raw) => {
    const name = BACKEND_ALIASES[raw.toLowerCase()] ?? raw.toLowerCase();
    if (!known.includes(name)) {
      throw new UsageError(
        `Unknown backend ${JSON.stringify(raw)}. Known backends: ${known.join(', ')} (aliases: ${Object.entries(BACKEND_ALIASES)
          .map(([a, n]) => `${a}=${n}`)
          .join(', ')}).`,
      );
    }
    return name;
  });
  if (wanted.length === 0) throw new UsageError(`--backend needs at least one name: ${known.join(', ')}.`);
  return known.filter((n) => wanted.includes(n));
}

/**
 * Parses a list of names against the allowed ones (case-insensitive), keeping the allowed
 * order; an unknown name throws a {@link UsageError} naming the option and the allowed values.
 */
export function parseChoices<T extends string>(option: string, value: string, allowed: readonly T[]): T[] {
  const wanted = splitList(value).map((raw) => {
    const match = allowed.find((a) => a.toLowerCase() === raw.toLowerCase());
    if (match === undefined) throw new UsageError(`Unknown ${option} value ${JSON.stringify(raw)}. Allowed: ${allowed.join(', ')}.`);
    return match;
  });
  if (wanted.length === 0) throw new UsageError(`${option} needs at least one of: ${allowed.join(', ')}.`);
  return allowed.filter((a) => wanted.includes(a));
}
