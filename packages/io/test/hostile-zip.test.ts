import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEmbeddings, saveEmbedding } from '../src/index.js';
import { readZip } from '../src/util/zip.js';
import { smallLayer } from './fuzz/bases.js';
import { expectRefused, printRefusalTimes, treeSnapshot } from './hostile-helpers.js';
import { makeTempDir } from './tmp.js';

/*
 * Hostile .keras zips (issue: "a 129-byte .keras hangs the event loop", "zip-bomb limits can be
 * bypassed"). The archives are written byte by byte here (APPNOTE 4.3.7 local headers, 4.3.12
 * central directory, 4.3.14-16 end records), from the members of a .keras that we save first:
 * the same writer with honest arguments makes a file that loads, so each refusal is about the
 * attack and not about the writer.
 */

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let members: Record<string, Uint8Array>;
beforeAll(async () => {
  tmp = await makeTempDir('io-hostile-zip-');
  const good = join(tmp.dir, 'good.keras');
  await saveEmbedding(good, smallLayer(6, 4));
  members = unzipSync(new Uint8Array(await import('node:fs/promises').then((fs) => fs.readFile(good))));
});
afterAll(async () => {
  printRefusalTimes('hostile zips');
  await tmp.cleanup();
});

interface Local {
  name: string;
  /** Bytes as stored (already deflated when method is 8). */
  stored: Uint8Array;
  method: 0 | 8;
  size: number;
  crc: number;
  /** Bytes appended after the stored data and counted in the compressed size (ignored by a deflater that stops at the stream end). */
  trailing?: number;
}

/** A central directory entry: which local it points at, and what it claims. */
interface Central {
  name: string;
  local: number;
  size?: number;
  compressedSize?: number;
}

function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function u64(n: number): number[] {
  return [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];
}

/** Writes a zip: the locals in order, then a central directory listing `central` (default: one entry per local). */
function craftZip(locals: readonly Local[], central?: readonly Central[]): Uint8Array {
  const out: number[] = [];
  const offsets: number[] = [];
  const enc = new TextEncoder();
  for (const l of locals) {
    offsets.push(out.length);
    const name = enc.encode(l.name);
    const stored = [...l.stored, ...new Array(l.trailing ?? 0).fill(0x5a)];
    out.push(...u32(0x04034b50), ...u16(20), ...u16(0), ...u16(l.method), ...u16(0), ...u16(0x21));
    out.push(...u32(l.crc), ...u32(stored.length), ...u32(l.size), ...u16(name.length), ...u16(0), ...name, ...stored);
  }
  const cdStart = out.length;
  const list: readonly Central[] = central ?? locals.map((l, i) => ({ name: l.name, local: i }));
  for (const c of list) {
    const l = locals[c.local]!;
    const name = enc.encode(c.name);
    out.push(...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(0), ...u16(l.method), ...u16(0), ...u16(0x21));
    out.push(...u32(l.crc), ...u32(c.compressedSize ?? l.stored.length + (l.trailing ?? 0)), ...u32(c.size ?? l.size));
    out.push(...u16(name.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(offsets[c.local]!), ...name);
  }
  const cdSize = out.length - cdStart;
  out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(list.length), ...u16(list.length), ...u32(cdSize), ...u32(cdStart), ...u16(0));
  return new Uint8Array(out);
}

function stored(name: string, data: Uint8Array): Local {
  return { name, stored: data, method: 0, size: data.length, crc: crc32(data) >>> 0 };
}
function deflated(name: string, data: Uint8Array, trailing = 0): Local {
  return { name, stored: new Uint8Array(deflateRawSync(data)), method: 8, size: data.length, crc: crc32(data) >>> 0, trailing };
}

let n = 0;
async function put(bytes: Uint8Array): Promise<{ dir: string; path: string }> {
  const dir = join(tmp.dir, `case-${++n}`);
  await mkdir(dir);
  const path = join(dir, 'm.keras');
  await writeFile(path, bytes);
  return { dir, path };
}

function honestLocals(): Local[] {
  return [
    stored('metadata.json', members['metadata.json']!),
    deflated('config.json', members['config.json']!),
    stored('model.weights.h5', members['model.weights.h5']!),
  ];
}

describe('hostile .keras zips', () => {
  it('the crafting writer with honest arguments makes a .keras that loads (stored and deflated members)', async () => {
    const { path } = await put(craftZip(honestLocals()));
    const [record] = await readEmbeddings(path);
    expect(Array.from(record!.weights)).toEqual(Array.from(smallLayer(6, 4).weights));
  });

  it('a 128-byte Zip64 end record claiming 2^32-2 entries is refused before any entry is read', async () => {
    const bytes = [...u32(0x04034b50), ...new Array(26).fill(0)];
    const zip64At = bytes.length;
    bytes.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0));
    bytes.push(...u64(2 ** 32 - 2), ...u64(2 ** 32 - 2), ...u64(0), ...u64(30));
    bytes.push(...u32(0x07064b50), ...u32(0), ...u64(zip64At), ...u32(1));
    bytes.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(0));
    expect(bytes.length).toBe(128);
    const { dir, path } = await put(new Uint8Array(bytes));
    const before = await treeSnapshot(dir);
    await expectRefused('zip64 entry count', path, /claims 4294967294 entries, but its 0-byte central directory can hold at most 0/, () =>
      readEmbeddings(path),
    );
    expect(await treeSnapshot(dir)).toEqual(before);
  });

  it('config.json listed 200 times, every entry pointing at one deflated local entry, is refused (duplicate names)', async () => {
    const big = new TextEncoder().encode(JSON.stringify({ pad: ' '.repeat(2_000_000) }));
    const locals = [deflated('config.json', big), ...honestLocals().slice(0, 1), honestLocals()[2]!];
    const central: Central[] = Array.from({ length: 200 }, () => ({ name: 'config.json', local: 0 }));
    central.push({ name: 'metadata.json', local: 1 }, { name: 'model.weights.h5', local: 2 });
    const { path } = await put(craftZip(locals, central));
    await expectRefused('zip duplicate names', path, /lists "config\.json" more than once/, () => readEmbeddings(path));
  });

  it('two names sharing one local entry are refused (entries may not share bytes)', async () => {
    const locals = honestLocals();
    const central: Central[] = [
      { name: 'config.json', local: 1 },
      { name: 'metadata.json', local: 1 },
      { name: 'model.weights.h5', local: 2 },
    ];
    const { path } = await put(craftZip(locals, central));
    await expectRefused('zip shared local entry', path, /overlaps .*entries may not share bytes/, () => readEmbeddings(path));
  });

  it('a deflate stream followed by ignored bytes counted as compressed data is refused (the ratio is on bytes consumed)', async () => {
    // 4 MB of JSON deflates to ~4 KB; 60 KB of padding makes the declared ratio ~65:1, under 100:1.
    const big = new TextEncoder().encode(JSON.stringify({ pad: ' '.repeat(4_000_000) }));
    const locals = [
      stored('metadata.json', members['metadata.json']!),
      deflated('config.json', big, 60_000),
      stored('model.weights.h5', members['model.weights.h5']!),
    ];
    expect(big.length / (locals[1]!.stored.length + 60_000)).toBeLessThan(100);
    const { path } = await put(craftZip(locals));
    await expectRefused(
      'zip trailing bytes',
      path,
      /zip entry config\.json(: its deflate stream ends after \d+ of its \d+ compressed bytes| declares \d+ bytes from \d+ compressed)/,
      () => readEmbeddings(path),
    );
  });

  it('a member that inflates past its declared size, or whose CRC-32 does not match, is refused', async () => {
    const locals = honestLocals();
    const short = craftZip(locals, [
      { name: 'metadata.json', local: 0 },
      { name: 'config.json', local: 1, size: 10 },
      { name: 'model.weights.h5', local: 2 },
    ]);
    const a = await put(short);
    await expectRefused('zip declared size', a.path, /zip entry config\.json inflates to more than its declared 10 bytes/, () =>
      readEmbeddings(a.path),
    );
    const bad = honestLocals();
    bad[0] = { ...bad[0]!, crc: (bad[0]!.crc ^ 1) >>> 0 };
    const b = await put(craftZip(bad));
    await expectRefused('zip crc', b.path, /zip entry metadata\.json: CRC-32 mismatch/, () => readEmbeddings(b.path));
  });

  it('readZip caps the total inflated bytes of one archive', () => {
    const zip = craftZip(honestLocals());
    const total = Object.values(members).reduce((a, m) => a + m.length, 0);
    const limits = { members: { 'config.json': 1e9, 'metadata.json': 1e9, 'model.weights.h5': 1e9 }, maxRatio: 100 };
    expect(Object.keys(readZip('z', zip, { ...limits, maxTotalBytes: total }))).toHaveLength(3);
    expect(() => readZip('z', zip, { ...limits, maxTotalBytes: total - 1 })).toThrow(/would inflate to more than \d+ bytes in all/);
  });
});
