/** Longest text {@link describeValue} returns for one value (a received value never makes a long message). */
export const DESCRIBE_VALUE_LIMIT = 200;

/** Elements of an array or typed array shown before `…`. */
const HEAD = 8;

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 59)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return value.toString();
  return String(value);
}

function isTypedArray(value: unknown): value is ArrayLike<number | bigint> & { constructor: { name: string } } {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

function describeInner(value: unknown, depth: number): string {
  if (typeof value !== 'object' || value === null) return scalar(value);
  if (isTypedArray(value)) {
    const n = value.length;
    const head: string[] = [];
    for (let i = 0; i < Math.min(n, HEAD); i++) head.push(scalar(value[i]));
    return `${value.constructor.name}(${n}) [${head.join(', ')}${n > HEAD ? ', …' : ''}]`;
  }
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)) {
    return `${value.constructor.name}(${value.byteLength} bytes)`;
  }
  if (Array.isArray(value)) {
    const n = value.length;
    if (depth >= 2) return `Array(${n})`;
    const head: string[] = [];
    for (let i = 0; i < Math.min(n, HEAD); i++) head.push(describeInner(value[i], depth + 1));
    return `[${head.join(', ')}${n > HEAD ? `, … (${n} items)` : ''}]`;
  }
  if (value instanceof Error) return `${value.name}: ${clip(value.message, 80)}`;
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  if (depth >= 2) return name && name !== 'Object' ? name : '{…}';
  const keys = Object.keys(value);
  const parts: string[] = [];
  for (const key of keys.slice(0, HEAD)) {
    let shown: string;
    try {
      shown = describeInner((value as Record<string, unknown>)[key], depth + 1);
    } catch {
      shown = '?';
    }
    parts.push(`${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: ${shown}`);
  }
  const body = `{ ${parts.join(', ')}${keys.length > HEAD ? `, … (${keys.length} keys)` : ''} }`;
  return name && name !== 'Object' ? `${name} ${body}` : body;
}

/**
 * A short description of a received value for an error message: its type, its length and its
 * first values, never the whole value. A `Float32Array` of 12.8 million values is shown as
 * `Float32Array(12800000) [0, 0, 0, 0, 0, 0, 0, 0, …]`; strings, arrays and objects are cut
 * after a few items. The result is at most {@link DESCRIBE_VALUE_LIMIT} characters.
 */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = describeInner(value, 0);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return clip(text, DESCRIBE_VALUE_LIMIT);
}
