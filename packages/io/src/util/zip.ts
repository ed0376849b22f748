import { type FileHandle, open } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import { badFile } from '../errors.js';

/*
 * A zip reader for archives from strangers (Keras 3 `.keras` files). It reads the central
 * directory (APPNOTE 6.3.10, with Zip64), checks it completely before anything is inflated,
 * and inflates only the members asked for, each bounded:
 *
 * - the entry count an end record claims must fit in the central directory (46+ bytes per
 *   entry), and the directory in the file, so a 129-byte file cannot claim 2^32 entries;
 * - names are unique, and no two entries share or overlap their local header + data, so the
 *   same bytes cannot be inflated twice under several names;
 * - an entry inflates to at most its declared size, itself capped per member and per archive,
 *   and to at most `maxRatio` times its compressed size: the inflater (Node's zlib) stops at
 *   the limit, and the deflate stream must end exactly where the entry's compressed data ends
 *   (bytes actually consumed, not the declared size, decide the ratio); the CRC-32 must match.
 *
 * fflate's unzipSync trusts the end record's count and the declared sizes, so it is used for
 * writing only. Inflating is Node's zlib (native, bounded by `maxOutputLength`).
 */

/** Limits of {@link readZip}. */
export interface ZipLimits {
  /** Largest uncompressed size of one member, by name. Members not listed are never inflated. */
  readonly members: Readonly<Record<string, number>>;
  /** Largest total uncompressed size of the members read from one archive. */
  readonly maxTotalBytes: number;
  /** Largest uncompressed/compressed ratio of a deflated member over 1 MiB. */
  readonly maxRatio: number;
}

interface CentralEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

/**
 * Bytes of an archive by absolute offset: the whole archive in memory, or the parts of a file
 * read so far (its tail, its central directory). A read outside them is a BadFileError.
 */
interface ZipBytes {
  readonly size: number;
  bytes(at: number, length: number): Uint8Array;
}

function u16(src: ZipBytes, at: number): number {
  const b = src.bytes(at, 2);
  return b[0]! | (b[1]! << 8);
}

function u32(src: ZipBytes, at: number): number {
  const b = src.bytes(at, 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

function u64(src: ZipBytes, at: number): number {
  const value = u32(src, at) + u32(src, at + 4) * 2 ** 32;
  return value > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : value;
}

function memoryBytes(bytes: Uint8Array): ZipBytes {
  return {
    size: bytes.length,
    bytes: (at, length) => {
      if (!(at >= 0 && at + length <= bytes.length)) throw new RangeError(`bytes ${at}-${at + length} are outside the archive`);
      return bytes.subarray(at, at + length);
    },
  };
}

/** Parts of a file read into memory: each a start offset and its bytes. */
function windowBytes(file: string, size: number, windows: readonly { start: number; bytes: Uint8Array }[]): ZipBytes {
  return {
    size,
    bytes: (at, length) => {
      for (const w of windows)
        if (at >= w.start && at + length <= w.start + w.bytes.length) return w.bytes.subarray(at - w.start, at - w.start + length);
      throw badFile(file, `the zip archive points at bytes ${at}-${at + length}, outside its tail and central directory (damaged).`);
    },
  };
}

/** Size of the tail that holds the end records (end record, comment, Zip64 locator and end record). */
const TAIL_BYTES = 22 + MAX_COMMENT + 20 + 56;

function findEndRecord(file: string, src: ZipBytes): number {
  const lowest = Math.max(0, src.size - 22 - MAX_COMMENT);
  for (let at = src.size - 22; at >= lowest; at--) {
    if (u32(src, at) === EOCD && at + 22 + u16(src, at + 20) === src.size) return at;
  }
  throw badFile(file, 'the zip archive has no end of central directory record (damaged or truncated).');
}

/** Where the central directory is, from the end records (Zip64 ones included); nothing else is read. */
function endRecords(file: string, src: ZipBytes): { count: number; cdSize: number; cdOffset: number; cdEnd: number } {
  if (src.size < 22) throw badFile(file, `the zip archive is truncated: ${src.size} bytes, shorter than an end record.`);
  const end = findEndRecord(file, src);
  let count = u16(src, end + 10);
  let cdSize = u32(src, end + 12);
  let cdOffset = u32(src, end + 16);
  let cdEnd = end;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || u32(src, locator) !== ZIP64_LOCATOR)
      throw badFile(file, 'the zip end record needs a Zip64 record, but there is no Zip64 locator before it.');
    const at = u64(src, locator + 8);
    if (!(at + 56 <= locator) || u32(src, at) !== ZIP64_EOCD)
      throw badFile(file, `the Zip64 locator points at byte ${at}, where there is no Zip64 end record.`);
    count = u64(src, at + 32);
    cdSize = u64(src, at + 40);
    cdOffset = u64(src, at + 48);
    cdEnd = at;
  }
  if (!(cdOffset + cdSize <= cdEnd))
    throw badFile(
      file,
      `the zip central directory claims ${cdSize} bytes at offset ${cdOffset}, beyond its end record at byte ${cdEnd} (damaged or truncated).`,
    );
  if (count * 46 > cdSize)
    throw badFile(
      file,
      `the zip end record claims ${count} entries, but its ${cdSize}-byte central directory can hold at most ${Math.floor(cdSize / 46)} (46+ bytes each).`,
    );
  return { count, cdSize, cdOffset, cdEnd };
}

/** Parses and checks the central directory; nothing is inflated. */
function centralDirectory(file: string, src: ZipBytes): { entries: CentralEntry[]; cdOffset: number } {
  const { count, cdSize, cdOffset } = endRecords(file, src);
  const entries: CentralEntry[] = [];
  const names = new Set<string>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || u32(src, at) !== CENTRAL)
      throw badFile(file, `zip central directory entry ${i} of ${count}: no entry signature at byte ${at} (damaged).`);
    const flags = u16(src, at + 8);
    const method = u16(src, at + 10);
    const crc = u32(src, at + 16);
    let compressedSize = u32(src, at + 20);
    let size = u32(src, at + 24);
    const nameLength = u16(src, at + 28);
    const extraLength = u16(src, at + 30);
    const commentLength = u16(src, at + 32);
    let localOffset = u32(src, at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > cdOffset + cdSize) throw badFile(file, `zip central directory entry ${i} runs past the directory's end.`);
    const name = new TextDecoder().decode(src.bytes(at + 46, nameLength));
    // Zip64 extended information: the fields that are 0xffffffff above, in order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = u16(src, extra);
      const length = u16(src, extra + 2);
      if (id === 0x0001) {
        let field = extra + 4;
        const take = () => {
          if (field + 8 > extra + 4 + length)
            throw badFile(file, `zip entry ${JSON.stringify(name.slice(0, 100))}: its Zip64 field is too short.`);
          const value = u64(src, field);
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      extra += 4 + length;
    }
    if (names.has(name)) throw badFile(file, `the zip archive lists ${JSON.stringify(name.slice(0, 100))} more than once.`);
    names.add(name);
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
    at = next;
  }
  // No two entries may share bytes: each entry's local header and data lie before the next one.
  const byOffset = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 0; i < byOffset.length; i++) {
    const e = byOffset[i]!;
    const limit = i + 1 < byOffset.length ? byOffset[i + 1]!.localOffset : cdOffset;
    if (!(e.localOffset + 30 + e.compressedSize <= limit))
      throw badFile(
        file,
        `zip entry ${JSON.stringify(e.name.slice(0, 100))} (local header at byte ${e.localOffset}, ${e.compressedSize} bytes) overlaps ${i + 1 < byOffset.length ? `entry ${JSON.stringify(byOffset[i + 1]!.name.slice(0, 100))}` : 'the central directory'}; entries may not share bytes.`,
      );
  }
  return { entries, cdOffset };
}

/** The absolute offset of an entry's data, from its local header (whose name must match the central directory's); checks it ends before `nextOffset`. */
function entryDataStart(file: string, header: Uint8Array, entry: CentralEntry, nextOffset: number): number {
  const at = entry.localOffset;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (header.length < 30 || view.getUint32(0, true) !== LOCAL)
    throw badFile(file, `zip entry ${JSON.stringify(entry.name)}: no local header at byte ${at} (damaged).`);
  const nameLength = view.getUint16(26, true);
  const extraLength = view.getUint16(28, true);
  const start = at + 30 + nameLength + extraLength;
  const localName = new TextDecoder().decode(header.subarray(30, 30 + nameLength));
  if (localName !== entry.name)
    throw badFile(file, `zip entry ${JSON.stringify(entry.name)}: its local header names ${JSON.stringify(localName.slice(0, 100))}.`);
  if (start + entry.compressedSize > nextOffset)
    throw badFile(file, `zip entry ${JSON.stringify(entry.name)}: its ${entry.compressedSize} bytes of data run into the next entry.`);
  return start;
}

/** The checks every member read passes before its data is touched (encryption, method, declared sizes and totals). */
function checkEntry(file: string, entry: CentralEntry, limit: number, total: number, limits: ZipLimits): void {
  const label = `zip entry ${entry.name}`;
  if (entry.flags & 0x1) throw badFile(file, `${label} is encrypted; expected a plain entry.`);
  if (entry.method !== 0 && entry.method !== 8)
    throw badFile(file, `${label} uses compression method ${entry.method}; expected stored (0) or deflate (8).`);
  if (entry.size > limit)
    throw badFile(file, `${label} declares ${entry.size} bytes uncompressed, over the ${limit}-byte limit (a zip bomb?).`);
  if (total + entry.size > limits.maxTotalBytes)
    throw badFile(file, `the zip members read would inflate to more than ${limits.maxTotalBytes} bytes in all (a zip bomb?).`);
  if (entry.method === 0 && entry.size !== entry.compressedSize)
    throw badFile(
      file,
      `${label} is stored uncompressed but declares ${entry.size} bytes uncompressed and ${entry.compressedSize} stored.`,
    );
}

/** A member's content from its stored data (stored: as is; deflated: inflated, bounded), its CRC-32 checked. */
function entryContent(file: string, entry: CentralEntry, data: Uint8Array, limits: ZipLimits): Uint8Array {
  const label = `zip entry ${entry.name}`;
  let content: Uint8Array;
  if (entry.method === 0) content = data;
  else {
    const ratioLimit = data.length > 0 ? Math.max(1024 * 1024, data.length * limits.maxRatio) : 0;
    const maxOutput = Math.min(entry.size, ratioLimit);
    if (entry.size > maxOutput)
      throw badFile(
        file,
        `${label} declares ${entry.size} bytes from ${data.length} compressed (ratio over the ${limits.maxRatio}:1 limit; a zip bomb?).`,
      );
    let result: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      result = inflateRawSync(data, { maxOutputLength: Math.max(1, maxOutput), info: true }) as unknown as typeof result;
    } catch (error) {
      const tooBig = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw badFile(
        file,
        tooBig
          ? `${label} inflates to more than its declared ${entry.size} bytes (a zip bomb?).`
          : `${label} is not a valid deflate stream (${(error as Error).message}).`,
        error,
      );
    }
    if (result.engine.bytesWritten !== data.length)
      throw badFile(
        file,
        `${label}: its deflate stream ends after ${result.engine.bytesWritten} of its ${data.length} compressed bytes; the rest would be ignored (a zip bomb?).`,
      );
    content = new Uint8Array(result.buffer.buffer, result.buffer.byteOffset, result.buffer.byteLength);
    if (content.length !== entry.size)
      throw badFile(file, `${label} inflates to ${content.length} bytes, its header declares ${entry.size}.`);
  }
  if (crc32(content) >>> 0 !== entry.crc >>> 0)
    throw badFile(file, `${label}: CRC-32 mismatch (damaged; the data does not match its checksum).`);
  return content;
}

/**
 * @internal Reads the members named in `limits.members` from a zip archive held in memory,
 * after checking the whole central directory; other members are never inflated. Returns the
 * members found (stored members are views into `bytes`). Every problem is a BadFileError
 * naming `file`.
 */
export function readZip(file: string, bytes: Uint8Array, limits: ZipLimits): Record<string, Uint8Array> {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04))
    throw badFile(file, 'not a zip archive (expected the magic "PK\\x03\\x04").');
  const src = memoryBytes(bytes);
  const { entries, cdOffset } = centralDirectory(file, src);
  const offsets = entries.map((e) => e.localOffset).sort((a, b) => a - b);
  const out: Record<string, Uint8Array> = {};
  let total = 0;
  for (const entry of entries) {
    const limit = limits.members[entry.name];
    if (limit === undefined) continue;
    checkEntry(file, entry, limit, total, limits);
    const next = offsets.find((o) => o > entry.localOffset) ?? cdOffset;
    const header = bytes.subarray(entry.localOffset, Math.min(bytes.length, entry.localOffset + 30 + 0xffff * 2));
    const start = entryDataStart(file, header, entry, next);
    const content = entryContent(file, entry, bytes.subarray(start, start + entry.compressedSize), limits);
    total += content.length;
    out[entry.name] = content;
  }
  return out;
}

/** @internal A stored member left in the file: `size` bytes at `offset`, its CRC-32 already checked. */
export interface ZipMemberRange {
  readonly offset: number;
  readonly size: number;
}

/** @internal What {@link readZipFile} found: members read into memory, and stored members left in place. */
export interface ZipFileMembers {
  readonly members: Record<string, Uint8Array>;
  readonly inPlace: Record<string, ZipMemberRange>;
}

/** Largest central directory read from a file (a `.keras` has three entries; the rest is hostile). */
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;
const CRC_PIECE = 4 * 1024 * 1024;

/**
 * @internal {@link readZip} on an archive in a file, read by ranges: the tail and the central
 * directory (checked completely, as readZip does), then each member asked for. A stored member
 * named in `inPlace` is not read into memory: its CRC-32 is checked a 4 MiB piece at a time and its
 * range returned (for the HDF5 worker to read in place); a deflated one is inflated, bounded, as
 * readZip does. The same checks and errors as {@link readZip}.
 */
export async function readZipFile(
  file: string,
  source: {
    readonly size: number;
    read(position: number, length: number): Promise<Uint8Array>;
    /** Fills `out` from `position` (for the CRC pass: one buffer for every piece); `read` is used without it. */
    readInto?(out: Uint8Array, position: number): Promise<void>;
  },
  limits: ZipLimits,
  inPlace: readonly string[] = [],
): Promise<ZipFileMembers> {
  const magic = await source.read(0, Math.min(4, source.size));
  if (!(magic[0] === 0x50 && magic[1] === 0x4b && magic[2] === 0x03 && magic[3] === 0x04))
    throw badFile(file, 'not a zip archive (expected the magic "PK\\x03\\x04").');
  const tailStart = Math.max(0, source.size - TAIL_BYTES);
  const windows = [{ start: tailStart, bytes: await source.read(tailStart, source.size - tailStart) }];
  const tail = windowBytes(file, source.size, windows);
  if (source.size >= 22) {
    // Read what the end records point at: a Zip64 end record before the tail, and the directory.
    const end = findEndRecord(file, tail);
    const locator = end - 20;
    if (locator >= 0 && u32(tail, locator) === ZIP64_LOCATOR) {
      const at = u64(tail, locator + 8);
      if (at + 56 <= locator && at < tailStart) windows.push({ start: at, bytes: await source.read(at, 56) });
    }
    const { cdOffset, cdSize } = endRecords(file, windowBytes(file, source.size, windows));
    if (cdSize > MAX_DIRECTORY_BYTES)
      throw badFile(
        file,
        `the zip central directory claims ${cdSize} bytes; a .keras archive's is a few hundred (over ${MAX_DIRECTORY_BYTES} is refused).`,
      );
    if (cdOffset < tailStart) windows.unshift({ start: cdOffset, bytes: await source.read(cdOffset, cdSize) });
  }
  const { entries, cdOffset } = centralDirectory(file, windowBytes(file, source.size, windows));
  const offsets = entries.map((e) => e.localOffset).sort((a, b) => a - b);
  const out: ZipFileMembers = { members: {}, inPlace: {} };
  let total = 0;
  for (const entry of entries) {
    const limit = limits.members[entry.name];
    if (limit === undefined) continue;
    checkEntry(file, entry, limit, total, limits);
    const next = offsets.find((o) => o > entry.localOffset) ?? cdOffset;
    const header = await source.read(entry.localOffset, Math.min(30 + 0xffff * 2, next - entry.localOffset));
    const start = entryDataStart(file, header, entry, next);
    if (entry.method === 0 && inPlace.includes(entry.name)) {
      let crc = 0;
      const piece = source.readInto ? new Uint8Array(Math.min(CRC_PIECE, entry.size)) : undefined;
      for (let at = 0; at < entry.size; at += CRC_PIECE) {
        const length = Math.min(CRC_PIECE, entry.size - at);
        let bytes: Uint8Array;
        if (piece && source.readInto) {
          bytes = piece.subarray(0, length);
          await source.readInto(bytes, start + at);
        } else bytes = await source.read(start + at, length);
        crc = crc32(bytes, crc);
      }
      if (crc >>> 0 !== entry.crc >>> 0)
        throw badFile(file, `zip entry ${entry.name}: CRC-32 mismatch (damaged; the data does not match its checksum).`);
      total += entry.size;
      out.inPlace[entry.name] = { offset: start, size: entry.size };
      continue;
    }
    const content = entryContent(file, entry, await source.read(start, entry.compressedSize), limits);
    total += content.length;
    out.members[entry.name] = content;
  }
  return out;
}

/** @internal A member of a zip written by {@link writeStoredZip}: its bytes, or a writer that puts them at `offset` of the open file and returns how many. */
export type StoredZipMember =
  | { readonly name: string; readonly bytes: Uint8Array }
  | {
      readonly name: string;
      /** Writes the member's bytes at `offset` of `handle` (positioned writes only) and returns their count. */
      readonly write: (handle: FileHandle, offset: number) => Promise<number>;
      /** About how many bytes it will be: 4 GiB or more gets Zip64 records (the local header is written first). */
      readonly expectedBytes: number;
    };

/** @internal Members at least this large (expected) get Zip64 sizes; lowered by tests. */
export const zipWriteLimits = { zip64Bytes: 0xffffffff - 256 * 1024 * 1024 };

function dosDateTime(date: Date): number {
  const year = date.getFullYear() - 1980;
  if (year < 0 || year > 119) throw new RangeError(`a zip file's date must be in 1980-2099, got ${date.toISOString()}.`);
  return (
    ((year << 25) |
      ((date.getMonth() + 1) << 21) |
      (date.getDate() << 16) |
      (date.getHours() << 11) |
      (date.getMinutes() << 5) |
      (date.getSeconds() >> 1)) >>>
    0
  );
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
}

/**
 * @internal Writes a zip of stored (uncompressed) members into the new file `path`, as Keras 3
 * writes a `.keras` and with the bytes fflate's `zipSync(..., { level: 0 })` gives for the same
 * members and time (local headers without data descriptors; version 2.0; times in DOS local
 * time). A member with a `write` function is written in place: its local header first (CRC-32
 * and sizes left zero), then its bytes by the function, then its CRC-32 computed by reading them
 * back a 4 MiB piece at a time and the header patched by a positioned write; nothing of it is
 * held in memory. Members of 4 GiB or more get Zip64 sizes, and the archive Zip64 end records
 * when its directory lies past 4 GiB.
 */
export async function writeStoredZip(path: string, members: readonly StoredZipMember[], mtime = new Date()): Promise<void> {
  const time = dosDateTime(mtime);
  // Read and write: the member written in place is read back for its CRC-32.
  const handle = await open(path, 'wx+');
  try {
    const written: { name: Uint8Array; crc: number; size: number; offset: number; zip64: boolean }[] = [];
    let at = 0;
    for (const member of members) {
      const name = new TextEncoder().encode(member.name);
      const zip64 = 'write' in member && member.expectedBytes >= zipWriteLimits.zip64Bytes;
      const header = new Uint8Array(30 + name.length + (zip64 ? 20 : 0));
      const view = new DataView(header.buffer);
      view.setUint32(0, LOCAL, true);
      view.setUint16(4, zip64 ? 45 : 20, true);
      view.setUint16(6, name.length !== member.name.length ? 0x0800 : 0, true);
      view.setUint32(10, time, true);
      view.setUint16(26, name.length, true);
      view.setUint16(28, zip64 ? 20 : 0, true);
      header.set(name, 30);
      const offset = at;
      const dataAt = offset + header.length;
      let size: number;
      let crc: number;
      if ('bytes' in member) {
        size = member.bytes.length;
        crc = crc32(member.bytes) >>> 0;
      } else {
        await writeAll(handle, header, offset);
        size = await member.write(handle, dataAt);
        if (!zip64 && size >= 0xffffffff)
          throw new RangeError(
            `zip member ${member.name} came to ${size} bytes, over the ${member.expectedBytes} expected (no Zip64 sizes were reserved).`,
          );
        crc = 0;
        for (let done = 0; done < size; done += CRC_PIECE) {
          const piece = new Uint8Array(Math.min(CRC_PIECE, size - done));
          const { bytesRead } = await handle.read(piece, 0, piece.length, dataAt + done);
          if (bytesRead !== piece.length)
            throw new Error(`zip member ${member.name}: read back ${bytesRead} of ${piece.length} bytes at ${dataAt + done}.`);
          crc = crc32(piece, crc);
        }
        crc >>>= 0;
      }
      view.setUint32(14, crc, true);
      if (zip64) {
        view.setUint32(18, 0xffffffff, true);
        view.setUint32(22, 0xffffffff, true);
        view.setUint16(30 + name.length, 0x0001, true);
        view.setUint16(32 + name.length, 16, true);
        view.setBigUint64(34 + name.length, BigInt(size), true);
        view.setBigUint64(42 + name.length, BigInt(size), true);
      } else {
        view.setUint32(18, size, true);
        view.setUint32(22, size, true);
      }
      await writeAll(handle, header, offset);
      if ('bytes' in member) await writeAll(handle, member.bytes, dataAt);
      written.push({ name, crc, size, offset, zip64 });
      at = dataAt + size;
    }
    const cdOffset = at;
    const parts: Uint8Array[] = [];
    for (const w of written) {
      const fields: bigint[] = [];
      if (w.zip64) fields.push(BigInt(w.size), BigInt(w.size));
      if (w.offset >= 0xffffffff) fields.push(BigInt(w.offset));
      const extra = fields.length > 0 ? 4 + 8 * fields.length : 0;
      const entry = new Uint8Array(46 + w.name.length + extra);
      const view = new DataView(entry.buffer);
      view.setUint32(0, CENTRAL, true);
      view.setUint8(4, 20);
      view.setUint16(6, fields.length > 0 ? 45 : 20, true);
      view.setUint16(8, w.name.length !== new TextDecoder().decode(w.name).length ? 0x0800 : 0, true);
      view.setUint32(12, time, true);
      view.setUint32(16, w.crc, true);
      view.setUint32(20, w.zip64 ? 0xffffffff : w.size, true);
      view.setUint32(24, w.zip64 ? 0xffffffff : w.size, true);
      view.setUint16(28, w.name.length, true);
      view.setUint16(30, extra, true);
      view.setUint32(42, Math.min(w.offset, 0xffffffff), true);
      entry.set(w.name, 46);
      if (extra > 0) {
        const x = 46 + w.name.length;
        view.setUint16(x, 0x0001, true);
        view.setUint16(x + 2, 8 * fields.length, true);
        for (const [i, f] of fields.entries()) view.setBigUint64(x + 4 + 8 * i, f, true);
      }
      parts.push(entry);
    }
    const cdSize = parts.reduce((n, p) => n + p.length, 0);
    const needs64 = cdOffset + cdSize >= 0xffffffff;
    const tail = new Uint8Array(22 + (needs64 ? 56 + 20 : 0));
    const view = new DataView(tail.buffer);
    let t = 0;
    if (needs64) {
      view.setUint32(0, ZIP64_EOCD, true);
      view.setBigUint64(4, 44n, true);
      view.setUint16(12, 45, true);
      view.setUint16(14, 45, true);
      view.setBigUint64(24, BigInt(written.length), true);
      view.setBigUint64(32, BigInt(written.length), true);
      view.setBigUint64(40, BigInt(cdSize), true);
      view.setBigUint64(48, BigInt(cdOffset), true);
      view.setUint32(56, ZIP64_LOCATOR, true);
      view.setBigUint64(64, BigInt(cdOffset + cdSize), true);
      view.setUint32(72, 1, true);
      t = 76;
    }
    view.setUint32(t, EOCD, true);
    view.setUint16(t + 8, written.length, true);
    view.setUint16(t + 10, written.length, true);
    view.setUint32(t + 12, cdSize, true);
    view.setUint32(t + 16, needs64 && cdOffset >= 0xffffffff ? 0xffffffff : cdOffset, true);
    let pos = cdOffset;
    for (const p of [...parts, tail]) {
      await writeAll(handle, p, pos);
      pos += p.length;
    }
  } finally {
    await handle.close();
  }
}
