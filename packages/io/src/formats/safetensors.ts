import { type EmbeddingConfig, type ResolvedEmbeddingConfig, toKerasConfig } from '@embedding-layer/core';
import { readLayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { encodeBfloat16, encodeHalf, type FloatStored, float32Bytes, floatDecoder } from '../util/float.js';
import { atomicWriteFiles, openRanges, ReadRanges, readWhole, writeInPieces } from '../util/fs.js';
import { parseFileJson, showValue } from '../util/json.js';
import {
  arrayRows,
  bytesRowSource,
  type FoundMatrix,
  forEachChunk,
  type LazyTables,
  layerNameFromTensor,
  makeLazyRecord,
  makeRecord,
  type ReadOptions,
  type RowReader,
} from './common.js';

/*
 * safetensors (huggingface/safetensors, docs "Format"): an 8-byte little-endian header size N,
 * N bytes of JSON ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {string:
 * string} }), then the byte buffer. The format is a length and a JSON object: parsing it
 * ourselves takes 50 lines, while the npm packages for it are young, target other runtimes or
 * wrap the Rust crate in native code.
 */

const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const FLOAT_DTYPES: Readonly<Record<string, FloatStored>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

/** Metadata key under which {@link encodeSafetensors} stores a tensor's Keras 2 layer config. */
export const SAFETENSORS_CONFIG_KEY_PREFIX = 'embedding_layer.config:';

/** One tensor of a safetensors file. */
export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The tensor's bytes (a view into the file). */
  readonly bytes: Uint8Array;
}

/** A decoded safetensors file. */
export interface SafetensorsFile {
  readonly tensors: readonly SafetensorsTensor[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** Element types a safetensors file is written in (`saveEmbedding`'s `safetensorsDtype`, `encodeSafetensors`). */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

/** Decodes a safetensors file, checking the header against the buffer. Throws `BadFileError` naming `file`. */
export function decodeSafetensors(bytes: Uint8Array, file = '<safetensors>'): SafetensorsFile {
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes, bytes.length, file);
  const buffer = bytes.subarray(dataStart);
  return {
    tensors: entries.map(({ name, dtype, shape, begin, end }) => ({ name, dtype, shape, bytes: buffer.subarray(begin, end) })),
    metadata,
  };
}

/** @internal One tensor's header entry: where its bytes lie in the data buffer. */
interface HeaderEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * @internal Where the header of a safetensors file of `fileSize` bytes ends, from its first 8
 * bytes (the header size, checked against the file). Throws `BadFileError` naming `file`.
 */
function safetensorsHeaderEnd(head: Uint8Array, fileSize: number, file: string): number {
  if (head.length < 8)
    throw badFile(file, `truncated: a safetensors file starts with an 8-byte header size, the file has ${fileSize} bytes.`);
  const size = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
  if (size > BigInt(fileSize - 8) || size < 2n)
    throw badFile(file, `not a safetensors file or truncated: the header size is ${size} bytes, the file has ${fileSize - 8} after it.`);
  return 8 + Number(size);
}

/**
 * @internal Parses the header of a safetensors file of `fileSize` bytes from its first bytes
 * (`head`: at least up to the header's end): every entry is checked against the file (offsets
 * inside the data, no two tensors sharing bytes). Throws `BadFileError` naming `file`.
 */
function parseSafetensorsHeader(
  head: Uint8Array,
  fileSize: number,
  file: string,
): { entries: HeaderEntry[]; metadata: Record<string, string>; dataStart: number } {
  const headerEnd = safetensorsHeaderEnd(head, fileSize, file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, headerEnd));
  } catch (error) {
    throw badFile(file, `not a safetensors file: the header is not UTF-8 (${(error as Error).message}).`, error);
  }
  const header = parseFileJson(text, file, 'not a safetensors file: the header');
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw badFile(file, 'not a safetensors file: the header is not a JSON object.');
  const dataLength = fileSize - headerEnd;
  // The format forbids tensors that share bytes: overlapping data_offsets are refused.
  const ranges = new ReadRanges(file);
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string'))
        throw badFile(file, `__metadata__ must map strings to strings, found ${showValue(entry)}.`);
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (
      typeof dtype !== 'string' ||
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isInteger(d) && d >= 0)
    )
      throw badFile(file, `tensor ${showValue(name)}: expected { dtype, shape, data_offsets: [begin, end] }, found ${showValue(entry)}.`);
    const [begin, end] = offsets as [number, number];
    const element = ELEMENT_BYTES[dtype];
    if (element === undefined) throw badFile(file, `tensor ${showValue(name)} has unknown dtype ${showValue(dtype)}.`);
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * element;
    if (end - begin !== expected)
      throw badFile(
        file,
        `tensor ${showValue(name)}: shape ${showValue(shape)} of ${dtype} needs ${expected} bytes, data_offsets span ${end - begin}.`,
      );
    if (end > dataLength)
      throw badFile(file, `truncated: tensor ${showValue(name)} ends at byte ${end} of the data, which has ${dataLength} bytes.`);
    ranges.claim('data', begin, end, `tensor ${showValue(name)}`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  return { entries, metadata, dataStart: headerEnd };
}

/**
 * The layer config kept in our safetensors metadata: Keras 2's spelling plus core's
 * `embeddings_dropout` when it is set (Keras files cannot hold it; this metadata is ours).
 */
function safetensorsConfig(config: EmbeddingData['config']): Record<string, unknown> {
  return { ...toKerasConfig(config), ...(config.embeddingsDropout > 0 ? { embeddings_dropout: config.embeddingsDropout } : {}) };
}

/** One tensor for {@link encodeSafetensors}: float32 values widened or narrowed to `dtype`. */
export interface SafetensorsInput {
  readonly name: string;
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly dtype?: SafetensorsDtype;
}

/** Encodes tensors as a safetensors file (header padded with spaces to 8 bytes, tensors in order, no gaps). */
export function encodeSafetensors(tensors: readonly SafetensorsInput[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const bodies: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? 'F32';
    const body = encodeValues(t.data, dtype);
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + body.length] };
    bodies.push(body);
    offset += body.length;
  }
  const head = headerBytes(header);
  const out = new Uint8Array(head.length + offset);
  out.set(head, 0);
  let at = head.length;
  for (const body of bodies) {
    out.set(body, at);
    at += body.length;
  }
  return out;
}

function encodeValues(values: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  return dtype === 'F32' ? float32Bytes(values) : dtype === 'F16' ? encodeHalf(values) : encodeBfloat16(values);
}

/** The 8-byte header size and the JSON header, padded with spaces to a multiple of 8 bytes. */
function headerBytes(header: Record<string, unknown>): Uint8Array {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

/**
 * Reads every 2-D float tensor (F32, F16, BF16, F64) of a safetensors file as an Embedding
 * record. The layer name comes from the tensor name (`emb.weight` -> `emb`); the config from
 * our metadata key when present, else from the shape.
 */
export async function readSafetensors(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  return readSafetensorsBytes(await readWhole(path, options.onProgress), path, options);
}

/** @internal {@link readSafetensors} on a file held in memory (`path` names it in errors). */
export function readSafetensorsBytes(bytes: Uint8Array, path: string, options: ReadOptions = {}): EmbeddingRecord[] {
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes, bytes.length, path);
  return tableEntries(entries, metadata, path).map(({ found, entry, stored }) => {
    const count = found.rows * found.cols;
    const data = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    return makeRecord(path, 'safetensors', { ...found, weights: floatDecoder(stored)(data, count) }, options);
  });
}

/**
 * @internal The tables of a safetensors file, held open: only the header is read; each
 * record's `source` reads its rows from the file when asked (how `loadEmbedding` streams a
 * table into a backend without a copy of it in memory). Close the result when done.
 */
export async function openSafetensorsTables(path: string, options: ReadOptions = {}): Promise<LazyTables> {
  const file = await openRanges(path);
  try {
    const headerEnd = safetensorsHeaderEnd(await file.read(0, Math.min(8, file.size)), file.size, path);
    const { entries, metadata, dataStart } = parseSafetensorsHeader(await file.read(0, headerEnd), file.size, path);
    const records = tableEntries(entries, metadata, path).map(({ found, entry, stored }) => {
      const element = ELEMENT_BYTES[entry.dtype]!;
      const at = dataStart + entry.begin;
      const read = (offset: number, length: number) => file.read(at + offset, length);
      const source = bytesRowSource(found.rows, found.cols, element, read, floatDecoder(stored, true), options.onProgress);
      return makeLazyRecord(path, 'safetensors', found, source, options);
    });
    return { records, close: () => file.close() };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** The 2-D float tensors of a parsed header, with what each record needs but its values. */
function tableEntries(
  entries: readonly HeaderEntry[],
  metadata: Readonly<Record<string, string>>,
  path: string,
): { found: Omit<FoundMatrix, 'weights'>; entry: HeaderEntry; stored: FloatStored }[] {
  const tables: { found: Omit<FoundMatrix, 'weights'>; entry: HeaderEntry; stored: FloatStored }[] = [];
  for (const entry of entries) {
    const stored = FLOAT_DTYPES[entry.dtype];
    if (!stored || entry.shape.length !== 2) continue;
    const [rows, cols] = entry.shape as [number, number];
    const configText = metadata[`${SAFETENSORS_CONFIG_KEY_PREFIX}${entry.name}`];
    let fileConfig: EmbeddingConfig | null = null;
    let sourceConfig: Record<string, unknown> | null = null;
    let notes: readonly string[] = [];
    if (typeof configText === 'string') {
      sourceConfig = parseFileJson(configText, path, `metadata ${SAFETENSORS_CONFIG_KEY_PREFIX}${showValue(entry.name)}`) as Record<
        string,
        unknown
      >;
      ({ config: fileConfig, notes } = readLayerConfig(sourceConfig, path));
    }
    const found = {
      name: fileConfig?.name ?? layerNameFromTensor(entry.name),
      rows,
      cols,
      location: entry.name,
      storedDtype: stored,
      storedBytes: entry.end - entry.begin,
      fileConfig,
      sourceConfig,
      notes,
    };
    tables.push({ found, entry, stored });
  }
  if (tables.length === 0)
    throw badFile(
      path,
      `no Embedding matrix: expected a 2-D F32, F16, BF16 or F64 tensor, found ${showValue(entries.slice(0, 8).map((t) => `${t.name} ${t.dtype} [${t.shape.join(', ')}]`))}${entries.length > 8 ? ` and ${entries.length - 8} more` : ''}${entries.length === 0 ? ' (no tensors)' : ''}.`,
    );
  return tables;
}

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** Element type. Default `'F32'` (bit-exact). */
  readonly dtype?: SafetensorsDtype;
  /** Tensor name. Default `<layer name>.weight`, as PyTorch's `nn.Embedding` names it in a state dict. */
  readonly tensorName?: string;
}

/**
 * Writes the matrix as a safetensors file, atomically. The layer config (core's `toKerasConfig`,
 * Keras 2 keys) is kept in the string metadata (`embedding_layer.config:<tensor>`), so mask_zero, initializer and the rest
 * survive a round trip; other tools ignore it.
 */
export async function writeSafetensors(path: string, data: EmbeddingData, options: WriteSafetensorsOptions = {}): Promise<void> {
  await writeSafetensorsRows(path, data.config, arrayRows(data.weights, data.config.outputDim), options);
}

/**
 * @internal {@link writeSafetensors} from a reader of row ranges (a layer's `readMergedRows`):
 * the header, then the table a chunk of rows at a time, so no copy of the whole table (or of
 * the file) is made. Atomic: a failed read leaves the old file as it was.
 */
export async function writeSafetensorsRows(
  path: string,
  config: ResolvedEmbeddingConfig,
  readRows: RowReader,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const name = options.tensorName ?? `${config.name}.weight`;
  const dtype = options.dtype ?? 'F32';
  const { inputDim: rows, outputDim: cols } = config;
  const head = headerBytes({
    __metadata__: { format: 'pt', [`${SAFETENSORS_CONFIG_KEY_PREFIX}${name}`]: JSON.stringify(safetensorsConfig(config)) },
    [name]: { dtype, shape: [rows, cols], data_offsets: [0, rows * cols * ELEMENT_BYTES[dtype]!] },
  });
  await atomicWriteFiles([
    {
      path,
      write: (temp) =>
        writeInPieces(temp, async (append) => {
          await append(head);
          await forEachChunk(rows, cols, readRows, (values) => append(encodeValues(values, dtype)));
        }),
    },
  ]);
}
