import { BadFileError } from '@embedding-layer/core';

/** @internal A {@link BadFileError} whose message names the file first. */
export function badFile(file: string, what: string, cause?: unknown): BadFileError {
  return new BadFileError(`${file}: ${what}`, cause === undefined ? undefined : { cause });
}
