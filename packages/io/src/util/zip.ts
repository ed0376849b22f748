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

function u64(view: DataView, at: number): number {
  const value = view.getBigUint64(at, true);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
}

function findEndRecord(file: string, bytes: Uint8Array, view: DataView): number {
  const lowest = Math.max(0, bytes.length - 22 - MAX_COMMENT);
  for (let at = bytes.length - 22; at >= lowest; at--) {
    if (view.getUint32(at, true) === EOCD && at + 22 + view.getUint16(at + 20, true) === bytes.length) return at;
  }
  throw badFile(file, 'the zip archive has no end of central directory record (damaged or truncated).');
}

/** Parses and checks the central directory; nothing is inflated. */
function centralDirectory(file: string, bytes: Uint8Array): { entries: CentralEntry[]; cdOffset: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 22) throw badFile(file, `the zip archive is truncated: ${bytes.length} bytes, shorter than an end record.`);
  const end = findEndRecord(file, bytes, view);
  let count = view.getUint16(end + 10, true);
  let cdSize = view.getUint32(end + 12, true);
  let cdOffset = view.getUint32(end + 16, true);
  let cdEnd = end;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR)
      throw badFile(file, 'the zip end record needs a Zip64 record, but there is no Zip64 locator before it.');
    const at = u64(view, locator + 8);
    if (!(at + 56 <= locator) || view.getUint32(at, true) !== ZIP64_EOCD)
      throw badFile(file, `the Zip64 locator points at byte ${at}, where there is no Zip64 end record.`);
    count = u64(view, at + 32);
    cdSize = u64(view, at + 40);
    cdOffset = u64(view, at + 48);
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
  const entries: CentralEntry[] = [];
  const names = new Set<string>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || view.getUint32(at, true) !== CENTRAL)
      throw badFile(file, `zip central directory entry ${i} of ${count}: no entry signature at byte ${at} (damaged).`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let localOffset = view.getUint32(at + 42, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > cdOffset + cdSize) throw badFile(file, `zip central directory entry ${i} runs past the directory's end.`);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // Zip64 extended information: the fields that are 0xffffffff above, in order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let field = extra + 4;
        const take = () => {
          if (field + 8 > extra + 4 + length)
            throw badFile(file, `zip entry ${JSON.stringify(name.slice(0, 100))}: its Zip64 field is too short.`);
          const value = u64(view, field);
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

/** The bytes of an entry's data, after its local header (whose name must match the central directory's). */
function entryData(file: string, bytes: Uint8Array, entry: CentralEntry, nextOffset: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localOffset;
  if (view.getUint32(at, true) !== LOCAL)
    throw badFile(file, `zip entry ${JSON.stringify(entry.name)}: no local header at byte ${at} (damaged).`);
  const nameLength = view.getUint16(at + 26, true);
  const extraLength = view.getUint16(at + 28, true);
  const start = at + 30 + nameLength + extraLength;
  const localName = new TextDecoder().decode(bytes.subarray(at + 30, at + 30 + nameLength));
  if (localName !== entry.name)
    throw badFile(file, `zip entry ${JSON.stringify(entry.name)}: its local header names ${JSON.stringify(localName.slice(0, 100))}.`);
  if (start + entry.compressedSize > nextOffset)
    throw badFile(file, `zip entry ${JSON.stringify(entry.name)}: its ${entry.compressedSize} bytes of data run into the next entry.`);
  return bytes.subarray(start, start + entry.compressedSize);
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
  const { entries, cdOffset } = centralDirectory(file, bytes);
  const offsets = entries.map((e) => e.localOffset).sort((a, b) => a - b);
  const out: Record<string, Uint8Array> = {};
  let total = 0;
  for (const entry of entries) {
    const limit = limits.members[entry.name];
    if (limit === undefined) continue;
    const label = `zip entry ${entry.name}`;
    if (entry.flags & 0x1) throw badFile(file, `${label} is encrypted; expected a plain entry.`);
    if (entry.method !== 0 && entry.method !== 8)
      throw badFile(file, `${label} uses compression method ${entry.method}; expected stored (0) or deflate (8).`);
    if (entry.size > limit)
      throw badFile(file, `${label} declares ${entry.size} bytes uncompressed, over the ${limit}-byte limit (a zip bomb?).`);
    if (total + entry.size > limits.maxTotalBytes)
      throw badFile(file, `the zip members read would inflate to more than ${limits.maxTotalBytes} bytes in all (a zip bomb?).`);
    const data = entryData(file, bytes, entry, offsets.find((o) => o > entry.localOffset) ?? cdOffset);
    let content: Uint8Array;
    if (entry.method === 0) {
      if (entry.size !== entry.compressedSize)
        throw badFile(
          file,
          `${label} is stored uncompressed but declares ${entry.size} bytes uncompressed and ${entry.compressedSize} stored.`,
        );
      content = data;
    } else {
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
    total += content.length;
    out[entry.name] = content;
  }
  return out;
}
