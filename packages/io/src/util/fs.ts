import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';
import { badFile } from '../errors.js';
import { showValue } from './json.js';

/** @internal A temp path beside `target` (same directory, so the final rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * @internal Checks an output path before anything is written: its folder must exist and be a
 * folder, and the path itself must not be a folder. A BadFileError naming the user's path.
 */
export async function checkOutputPath(path: string): Promise<void> {
  const folder = dirname(path);
  const dirStat = await stat(folder).catch(() => undefined);
  if (!dirStat) throw badFile(path, `cannot write: the folder ${folder} does not exist.`);
  if (!dirStat.isDirectory()) throw badFile(path, `cannot write: ${folder} is not a folder.`);
  const own = await lstat(path).catch(() => undefined);
  if (own?.isDirectory()) throw badFile(path, 'cannot write: the path is a folder; give a file name.');
  if (own && !own.isFile() && !own.isSymbolicLink()) throw badFile(path, `cannot write: the path is ${kindOf(own)}.`);
}

async function renameInto(from: string, to: string): Promise<void> {
  await ioTestHooks.beforeRename?.(from, to);
  await rename(from, to);
}

/**
 * @internal Writes several files so that each appears complete or not at all: every file is
 * first written to a temp file beside its target, then all are renamed in order. On any
 * failure the temp files are removed. For a set of files where one references the others
 * (model.json and its shards, an .onnx and its data) use {@link replaceFileSet}.
 */
export async function atomicWriteFiles(files: readonly { path: string; write: (tempPath: string) => Promise<void> }[]): Promise<void> {
  for (const file of files) await checkOutputPath(file.path);
  const temps: string[] = [];
  try {
    for (const file of files) {
      const temp = tempPathFor(file.path);
      temps.push(temp);
      await file.write(temp);
      await ioTestHooks.afterTempWrite?.(temp, file.path);
    }
    for (let i = 0; i < files.length; i++) await renameInto(temps[i]!, files[i]!.path);
  } catch (error) {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    throw error;
  }
}

/** @internal Writes bytes to `path` atomically (temp file, then rename). */
export async function atomicWrite(path: string, bytes: Uint8Array): Promise<void> {
  await atomicWriteFiles([{ path, write: (temp) => writeBytes(temp, bytes) }]);
}

/** @internal One file that an index file references, for {@link replaceFileSet}. */
export interface SetPart {
  /** The file name wanted (a base name, in the index file's folder). */
  readonly name: string;
  /** Writes the part's bytes to `tempPath`. */
  readonly write: (tempPath: string) => Promise<void>;
}

/**
 * @internal Replaces a set of files as a whole: an index file (model.json, an .onnx) and the
 * parts it references (shards, external data). The parts are written under names that no file
 * has yet (the wanted name, or `<stem>.<random><ext>` when a file of that name exists, as one
 * of the old set usually does), then the index is renamed into place: that rename is the
 * commit. A failure before it removes every new file and leaves the old set as it was; after
 * it, the old set's parts that the new index does not use (`oldParts`, base names read from
 * the old index) are removed. `writeIndex` gets the parts' final names.
 */
export async function replaceFileSet(
  indexPath: string,
  parts: readonly SetPart[],
  writeIndex: (tempPath: string, names: readonly string[]) => Promise<void>,
  oldParts: () => Promise<readonly string[]> = async () => [],
): Promise<void> {
  await checkOutputPath(indexPath);
  const folder = dirname(indexPath);
  const old = new Set((await oldParts().catch(() => [])).filter(isPlainName));
  const chosen = new Set<string>();
  const names: string[] = [];
  for (const part of parts) {
    let name = part.name;
    const taken = async (n: string) =>
      chosen.has(n) ||
      old.has(n) ||
      n === basename(indexPath) ||
      (await lstat(join(folder, n)).then(
        () => true,
        () => false,
      ));
    if (await taken(name)) {
      const ext = extname(name);
      const stem = name.slice(0, name.length - ext.length);
      do name = `${stem}.${randomBytes(4).toString('hex')}${ext}`;
      while (await taken(name));
    }
    chosen.add(name);
    names.push(name);
  }
  const temps: string[] = [];
  const placed: string[] = [];
  try {
    for (const [i, part] of parts.entries()) {
      const target = join(folder, names[i]!);
      const temp = tempPathFor(target);
      temps.push(temp);
      await part.write(temp);
      await ioTestHooks.afterTempWrite?.(temp, target);
    }
    const indexTemp = tempPathFor(indexPath);
    temps.push(indexTemp);
    await writeIndex(indexTemp, names);
    await ioTestHooks.afterTempWrite?.(indexTemp, indexPath);
    for (const [i, name] of names.entries()) {
      await renameInto(temps[i]!, join(folder, name));
      placed.push(join(folder, name));
    }
    await renameInto(indexTemp, indexPath);
  } catch (error) {
    await Promise.all([...temps, ...placed].map((t) => rm(t, { force: true })));
    throw error;
  }
  await Promise.all([...old].filter((n) => !chosen.has(n)).map((n) => rm(join(folder, n), { force: true }).catch(() => undefined)));
}

/** A base name with no folder part, not `.`/`..`: the only names of an old set that a save removes. */
function isPlainName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[\\/\0]/.test(name);
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
  /** Runs before each rename of a temp file into place (throw to simulate a failed rename). */
  beforeRename?: (tempPath: string, target: string) => void | Promise<void>;
} = {};

/** @internal Writes a temp file's bytes (through {@link ioTestHooks}.writeFile when set). */
export function writeBytes(path: string, bytes: Uint8Array | string): Promise<void> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return ioTestHooks.writeFile ? ioTestHooks.writeFile(path, data) : writeFile(path, data);
}

/** Opening flags for files from strangers: never block on a FIFO, never follow a final symlink we did not resolve. */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * @internal Opens a file for reading and checks it is a regular file (a directory, FIFO,
 * socket or device such as `/dev/zero` is a BadFileError naming `shownAs`). The size is read
 * once, at open: reads never go past it, so a file that grows while it is read cannot grow the
 * read.
 */
export async function openRegular(path: string, shownAs = path): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw badFile(
      shownAs,
      code === 'ENOENT' ? 'cannot read the file: it does not exist.' : `cannot open the file (${(error as Error).message}).`,
      error,
    );
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw badFile(shownAs, `${kindOf(st)}, not a regular file; model files must be regular files.`);
    return { handle, size: st.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function readInto(handle: FileHandle, out: Uint8Array, position: number, onChunk?: (done: number) => void): Promise<number> {
  let done = 0;
  while (done < out.length) {
    const { bytesRead } = await handle.read(out, done, Math.min(CHUNK_BYTES, out.length - done), position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
    onChunk?.(done);
  }
  return done;
}

/**
 * @internal Reads a whole regular file in 4 MiB chunks, reporting progress; a missing or
 * unreadable file, or one that is not a regular file, is a BadFileError that names it.
 */
export async function readWhole(path: string, onProgress?: (done: number, total: number) => void, shownAs = path): Promise<Uint8Array> {
  const { handle, size } = await openRegular(path, shownAs);
  try {
    const out = new Uint8Array(size);
    onProgress?.(0, size);
    const done = await readInto(handle, out, 0, onProgress && ((d) => onProgress(d, size)));
    return done === size ? out : out.subarray(0, done);
  } finally {
    await handle.close();
  }
}

const CHUNK_BYTES = 4 * 1024 * 1024;

/** @internal Size of a regular file in bytes, or a BadFileError naming it. */
export async function fileSize(path: string, shownAs = path): Promise<number> {
  const { handle, size } = await openRegular(path, shownAs);
  await handle.close();
  return size;
}

/** @internal A regular file held open for reads of byte ranges, bounded by its size at open. */
export interface OpenFile {
  /** Size in bytes when it was opened: no read goes past it. */
  readonly size: number;
  /** `length` bytes at `position`; a range past `size`, or a short read, is a BadFileError (truncated). */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** @internal Opens a regular file for range reads (see {@link openRegular}); close it when done. */
export async function openRanges(path: string, shownAs = path): Promise<OpenFile> {
  const { handle, size } = await openRegular(path, shownAs);
  return {
    size,
    async read(position, length) {
      // Check the claimed range against the file before allocating (a header may claim terabytes).
      if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > size)
        throw badFile(shownAs, `truncated: expected ${length} bytes at offset ${position}, the file has ${size} bytes.`);
      const out = new Uint8Array(length);
      const done = await readInto(handle, out, position);
      if (done < length)
        throw badFile(shownAs, `truncated: expected ${length} bytes at offset ${position}, the file ends after ${done} of them.`);
      return out;
    },
    close: () => handle.close(),
  };
}

/** @internal Reads `length` bytes at `position` of a regular file; a short read is a BadFileError (the file is truncated). */
export async function readRange(path: string, position: number, length: number, shownAs = path): Promise<Uint8Array> {
  const file = await openRanges(path, shownAs);
  try {
    return await file.read(position, length);
  } finally {
    await file.close();
  }
}

/**
 * @internal Writes a file through a handle in pieces (a header, then a table a chunk of rows
 * at a time), so that a large table is never encoded whole. `write` is called with a function
 * that appends bytes. Under {@link ioTestHooks}.writeFile (tests), the pieces are gathered
 * and handed to the hook as one buffer, so its failure simulations still apply.
 */
export async function writeInPieces(path: string, write: (append: (bytes: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  if (ioTestHooks.writeFile) {
    const parts: Uint8Array[] = [];
    await write(async (bytes) => void parts.push(bytes.slice()));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return ioTestHooks.writeFile(path, all);
  }
  const handle = await open(path, 'wx');
  try {
    await write(async (bytes) => {
      let done = 0;
      while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
    });
  } finally {
    await handle.close();
  }
}

/**
 * @internal Resolves a path that a model file names (a TF.js shard, ONNX external data) to a
 * real path inside the model's real folder: it must be relative, without `..`, and after every
 * symlink is resolved it must still lie inside the folder that holds `modelPath` (a symlink to
 * `/etc/passwd`, or under a symlinked folder, is refused). Whether it is a regular file is
 * checked when it is opened. `owner` names the file in errors, `what` the reference.
 */
export async function resolveInside(modelPath: string, relative: string, owner: string, what: string): Promise<string> {
  if (relative.length === 0 || relative.includes('\0') || /^([\\/]|[A-Za-z]:)/.test(relative) || relative.split(/[\\/]/).includes('..'))
    throw badFile(owner, `${what} ${showValue(relative)} must be a relative path inside the model's folder.`);
  const folder = dirname(modelPath);
  let realFolder: string;
  let real: string;
  try {
    realFolder = await realpath(folder);
  } catch (error) {
    throw badFile(owner, `cannot resolve the model's folder (${(error as Error).message}).`, error);
  }
  try {
    real = await realpath(join(folder, relative));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw badFile(
      owner,
      code === 'ENOENT'
        ? `cannot read ${what} ${showValue(relative)}: it does not exist beside the model.`
        : `${what} ${showValue(relative)} cannot be resolved (${(error as Error).message}).`,
      error,
    );
  }
  if (!real.startsWith(realFolder.endsWith(sep) ? realFolder : realFolder + sep))
    throw badFile(
      owner,
      `${what} ${showValue(relative)} resolves to ${showValue(real)}, outside the model's folder ${showValue(realFolder)} (a symlink?); only files inside it are read.`,
    );
  return real;
}

/**
 * @internal The byte ranges of files that one load has read: a range that overlaps one already
 * read is refused, so a file cannot make a reader allocate the same bytes many times (one shard
 * listed 2,048 times, initializers sharing one external range, overlapping safetensors offsets).
 */
export class ReadRanges {
  private readonly byFile = new Map<string, { start: number; end: number; label: string }[]>();
  constructor(private readonly owner: string) {}
  /** Records `[start, end)` of `file` for `label`; a BadFileError if it overlaps a range recorded before. */
  claim(file: string, start: number, end: number, label: string): void {
    if (end <= start) return;
    const ranges = this.byFile.get(file) ?? [];
    const clash = ranges.find((r) => start < r.end && r.start < end);
    if (clash)
      throw badFile(
        this.owner,
        `${label} (bytes ${start}-${end} of ${showValue(file)}) overlaps ${clash.label} (bytes ${clash.start}-${clash.end}); the same bytes may not be used twice.`,
      );
    ranges.push({ start, end, label });
    this.byFile.set(file, ranges);
  }
}
