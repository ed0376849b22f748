import { BadFileError } from '@embedding-layer/core';

/** @internal A {@link BadFileError} whose message names the file first. */
export function badFile(file: string, what: string, cause?: unknown): BadFileError {
  return new BadFileError(`${file}: ${what}`, cause === undefined ? undefined : { cause });
}

/** @internal Runs `fn`; any non-embedding error becomes a BadFileError naming the file and the step. */
export async function guard<T>(file: string, step: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'string') {
      const code = (error as { code: string }).code;
      if (['BAD_FILE', 'INVALID_CONFIG', 'INVALID_WEIGHTS', 'SHAPE_MISMATCH', 'UNSUPPORTED_FEATURE', 'MISSING_PEER'].includes(code))
        throw error;
      if (code === 'ENOENT') throw badFile(file, `${step}: no such file (${(error as unknown as Error).message}).`, error);
    }
    const message = error instanceof Error ? error.message : String(error);
    throw badFile(file, `${step} failed: ${message}`, error);
  }
}
