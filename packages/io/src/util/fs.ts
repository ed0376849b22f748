import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { badFile } from '../errors.js';

/** @internal A temp path beside `target` (same directory, so the final rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * @internal Writes several files so that each appears complete or not at all: every file is
 * first written to a temp file beside its target, then all are renamed in order (the last one
 * is the file that references the others, e.g. model.json after its shards). On any failure
 * the temp files are removed.
 */
export async function atomicWriteFiles(files: readonly { path: string; write: (tempPath: string) => Promise<void> }[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const file of files) {
      const temp = tempPathFor(file.path);
      temps.push(temp);
      await file.write(temp);
      await ioTestHooks.afterTempWrite?.(temp, file.path);
    }
    for (let i = 0; i < files.length; i++) await rename(temps[i]!, files[i]!.path);
  } catch (error) {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    throw error;
  }
}

/** @internal Writes bytes to `path` atomically (temp file, then rename). */
export async function atomicWrite(path: string, bytes: Uint8Array): Promise<void> {
  await atomicWriteFiles([{ path, write: (temp) => writeBytes(temp, bytes) }]);
}

/**
 * @internal Test seams for the atomic-write tests: `writeFile` replaces the function that writes
 * a temp file's bytes (e.g. one that writes half and throws, as a full disk would), and
 * `afterTempWrite` runs after each temp file is complete, before any rename (throw to simulate
 * a failure between files). Both undefined in normal use.
 */
export const ioTestHooks: {
  writeFile?: (path: string, bytes: Uint8Array) => Promise<void>;
  afterTempWrite?: (tempPath: string, target: string) => void | Promise<void>;
  /** Directory for the scratch copy of a .keras file's model.weights.h5 (default: the OS temp dir). */
  scratchDir?: string;
} = {};

/** @internal Writes a temp file's bytes (through {@link ioTestHooks}.writeFile when set). */
export function writeBytes(path: string, bytes: Uint8Array | string): Promise<void> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return ioTestHooks.writeFile ? ioTestHooks.writeFile(path, data) : writeFile(path, data);
}

/**
 * @internal Reads a whole file in 4 MiB chunks, reporting progress; a missing or unreadable
 * file is a BadFileError that names it.
 */
export async function readWhole(path: string, onProgress?: (done: number, total: number) => void): Promise<Uint8Array> {
  if (!onProgress) {
    try {
      return new Uint8Array(await readFile(path));
    } catch (error) {
      throw badFile(path, `cannot read the file (${(error as Error).message}).`, error);
    }
  }
  const size = await fileSize(path);
  const out = new Uint8Array(size);
  const handle = await open(path, 'r').catch((error: Error) => {
    throw badFile(path, `cannot open the file (${error.message}).`, error);
  });
  try {
    let done = 0;
    onProgress(0, size);
    while (done < size) {
      const { bytesRead } = await handle.read(out, done, Math.min(CHUNK_BYTES, size - done), done);
      if (bytesRead === 0) break;
      done += bytesRead;
      onProgress(done, size);
    }
    return done === size ? out : out.subarray(0, done);
  } finally {
    await handle.close();
  }
}

const CHUNK_BYTES = 4 * 1024 * 1024;

/** @internal Size of a file in bytes, or a BadFileError naming it. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw badFile(path, `cannot read the file (${(error as Error).message}).`, error);
  }
}

/** @internal Reads `length` bytes at `position`; a short read is a BadFileError (the file is truncated). */
export async function readRange(path: string, position: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r').catch((error: Error) => {
    throw badFile(path, `cannot open the file (${error.message}).`, error);
  });
  try {
    // Check the claimed range against the file before allocating (a header may claim terabytes).
    const size = (await handle.stat()).size;
    if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > size)
      throw badFile(path, `truncated: expected ${length} bytes at offset ${position}, the file has ${size} bytes.`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < length)
      throw badFile(path, `truncated: expected ${length} bytes at offset ${position}, the file ends after ${done} of them.`);
    return out;
  } finally {
    await handle.close();
  }
}
