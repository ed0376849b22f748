import { badFile } from '../errors.js';

/**
 * @internal Deepest nesting of arrays and objects accepted in a file's JSON (model.json,
 * config.json, a safetensors header, an HDF5 `model_config`). Real Keras configs nest models in
 * models a few levels deep (each level adds about 4); 10,000-deep arrays only exist to crash
 * recursive readers.
 */
export const MAX_JSON_DEPTH = 256;

/** Depth of the deepest array/object nesting in `text` (outside strings), stopping past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * @internal Parses JSON from a file: nesting deeper than {@link MAX_JSON_DEPTH} and malformed
 * text are BadFileErrors naming `file` and `what` (e.g. "model.json", "the model_config
 * attribute"), never a RangeError from a recursive reader later.
 */
export function parseFileJson(text: string, file: string, what: string): unknown {
  const depth = nestingDepth(text, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH)
    throw badFile(file, `${what} nests arrays/objects more than ${MAX_JSON_DEPTH} deep; no model config does (a crafted file?).`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badFile(file, `${what} is not JSON (${(error as Error).message.slice(0, 200)}).`, error);
  }
}

/**
 * @internal A bounded, readable summary of a value from a file, for error messages: JSON-like,
 * at most `maxChars` characters (default 200), never walking more than needed.
 */
export function showValue(value: unknown, maxChars = 200): string {
  let out = '';
  const put = (s: string) => {
    out += s;
    return out.length <= maxChars;
  };
  const walk = (v: unknown, depth: number): boolean => {
    if (v === null || typeof v === 'number' || typeof v === 'boolean') return put(String(v));
    if (typeof v === 'string') return put(JSON.stringify(v.length > maxChars ? `${v.slice(0, maxChars)}...` : v));
    if (typeof v === 'undefined') return put('undefined');
    if (typeof v !== 'object') return put(typeof v);
    if (depth > 8) return put('...');
    if (Array.isArray(v)) {
      if (!put('[')) return false;
      for (let i = 0; i < v.length; i++) {
        if ((i > 0 && !put(',')) || !walk(v[i], depth + 1)) return false;
      }
      return put(']');
    }
    if (ArrayBuffer.isView(v)) return put(`${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`);
    if (!put('{')) return false;
    let first = true;
    for (const key in v as Record<string, unknown>) {
      if (!first && !put(',')) return false;
      first = false;
      if (!put(`${JSON.stringify(key.slice(0, 100))}:`) || !walk((v as Record<string, unknown>)[key], depth + 1)) return false;
    }
    return put('}');
  };
  return walk(value, 0) ? out : `${out.slice(0, maxChars)}...`;
}
