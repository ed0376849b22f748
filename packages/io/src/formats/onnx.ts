import { basename } from 'node:path';
import type { EmbeddingConfig, ResolvedEmbeddingConfig, RowSource } from '@embedding-layer/core';
import { rowSource } from '@embedding-layer/core/backend';
import {
  buildEmbeddingModel,
  DEFAULT_EXTERNAL_DATA_THRESHOLD,
  ONNX_NAMES,
  type OnnxIndexType,
  tableBytes,
} from '@embedding-layer/onnx-model';
import onnxProto from 'onnx-proto';
import { readLayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { type FloatStored, floatDecoder } from '../util/float.js';
import { type OpenFile, openRanges, ReadRanges, replaceFileSet, resolveInside, writeBytes, writeInPieces } from '../util/fs.js';
import { parseFileJson, showValue } from '../util/json.js';
import {
  type ByteSource,
  type BytesAt,
  encodeVarint,
  memorySource,
  spliceLengthDelimited,
  type WireField,
  WireReader,
  WireType,
  walkFields,
  walkFieldsIn,
} from '../util/protobuf-walk.js';
import {
  arrayRows,
  bytesRowSource,
  type FoundMatrix,
  forEachChunk,
  type LazyRecord,
  type LazyTables,
  makeLazyRecord,
  type ReadOptions,
  type RowReader,
} from './common.js';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const FLOAT_TYPES: Readonly<Record<number, { stored: FloatStored; bytes: number }>> = {
  [DataType.FLOAT]: { stored: 'float32', bytes: 4 },
  [DataType.FLOAT16]: { stored: 'float16', bytes: 2 },
  [DataType.BFLOAT16]: { stored: 'bfloat16', bytes: 2 },
  [DataType.DOUBLE]: { stored: 'float64', bytes: 8 },
};

function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

// Fields of TensorProto that hold its values: float_data, int32_data, raw_data, double_data.
const FLOAT_DATA = 4;
const INT32_DATA = 5;
const RAW_DATA = 9;
const DOUBLE_DATA = 10;
const DATA_FIELDS: ReadonlySet<number> = new Set([FLOAT_DATA, INT32_DATA, RAW_DATA, DOUBLE_DATA]);
/** A data field this long or longer is left in the file by the walk (read by range when it is a table); shorter ones are decoded. */
const IN_FILE_MIN_BYTES = 64;
/** Start of the message of a walk error that is not a truncation: the file may be of another kind. */
const NOT_ONNX = 'not an ONNX model, or damaged: ';

/** A data field of an initializer that the walk left in the model file: where its value's bytes are. */
interface InFileField {
  readonly offset: number;
  readonly length: number;
}

/** The data fields (by field number) of one initializer left in the file. */
type InFileData = ReadonlyMap<number, InFileField>;

/**
 * A model decoded (by protobufjs, as before) from its fields without the initializers' large
 * data fields, which stay in the file: `inFile` says where each one is.
 */
interface WalkedModel {
  readonly model: onnxProto.onnx.ModelProto;
  readonly inFile: ReadonlyMap<onnxProto.onnx.ITensorProto, InFileData>;
}

/**
 * The messages of ONNX that can nest without end (graphs in node attributes, in functions and
 * training info; types in sequence, map and optional types), and which of their fields hold
 * such messages. The walk follows these fields in the parts of the model it keeps, so that a
 * model nested deeper than {@link MAX_NESTING} is refused before protobufjs recurses into it.
 */
const NESTING: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  ModelProto: { 7: 'GraphProto', 20: 'TrainingInfoProto', 25: 'FunctionProto' },
  TrainingInfoProto: { 1: 'GraphProto', 2: 'GraphProto' },
  FunctionProto: { 7: 'NodeProto' },
  GraphProto: { 1: 'NodeProto', 11: 'ValueInfoProto', 12: 'ValueInfoProto', 13: 'ValueInfoProto' },
  NodeProto: { 5: 'AttributeProto' },
  AttributeProto: { 6: 'GraphProto', 11: 'GraphProto', 14: 'TypeProto', 15: 'TypeProto' },
  ValueInfoProto: { 2: 'TypeProto' },
  TypeProto: { 4: 'TypeProto.Sequence', 5: 'TypeProto.Map', 9: 'TypeProto.Optional' },
  'TypeProto.Sequence': { 1: 'TypeProto' },
  'TypeProto.Map': { 2: 'TypeProto' },
  'TypeProto.Optional': { 1: 'TypeProto' },
};
/** How deep messages may nest in a model: 100 levels, some 30 graphs inside node attributes. */
const MAX_NESTING = 100;

/**
 * Checks that the message `message` in `[start, end)` of `inMemory` nests at most
 * {@link MAX_NESTING} deep (it is at `depth`).
 */
function checkNesting(reader: WireReader, inMemory: BytesAt, start: number, end: number, message: string, depth: number): void {
  const inner = NESTING[message] ?? {};
  for (const f of walkFieldsIn(reader, inMemory, start, end, message, depth, MAX_NESTING)) {
    const name = inner[f.field];
    if (name !== undefined && f.wire === WireType.LEN) checkNesting(reader, inMemory, f.valueStart, f.end, name, depth + 1);
  }
}

/** Keeps field `f` of `message` (at `depth`): its bytes, once its nesting is checked. */
async function keepField(reader: WireReader, out: Parts, f: WireField, message: string, depth: number): Promise<void> {
  const bytes = await reader.bytes(f.start, f.end - f.start, `field ${f.field} of ${message}`);
  const inner = NESTING[message]?.[f.field];
  if (inner !== undefined && f.wire === WireType.LEN) checkNesting(reader, { bytes, base: f.start }, f.valueStart, f.end, inner, depth + 1);
  push(out, bytes);
}

/** Bytes to concatenate, and their total length. */
interface Parts {
  readonly parts: Uint8Array[];
  length: number;
}

function push(out: Parts, bytes: Uint8Array): void {
  out.parts.push(bytes);
  out.length += bytes.length;
}

/** `field` re-emitted with a new value: its key, the value's length, the value's parts. */
async function pushMessage(reader: WireReader, out: Parts, field: WireField, value: Parts, what: string): Promise<void> {
  push(out, await reader.bytes(field.start, field.keyEnd - field.start, what));
  push(out, encodeVarint(value.length));
  for (const p of value.parts) push(out, p);
}

/**
 * Walks an ONNX model through bounded reads (ModelProto -> graph -> initializer TensorProto),
 * keeps every field in memory except the initializers' large data fields (raw_data, packed
 * float_data / int32_data / double_data), records where those are, and decodes the rest with
 * protobufjs as before, so that every check on the model is unchanged. Every length is checked
 * against the message that holds it and the file's size before anything is allocated.
 */
async function walkModel(reader: WireReader): Promise<WalkedModel> {
  const out: Parts = { parts: [], length: 0 };
  // protobufjs decodes a second graph field over the first: only the last one's initializers count.
  // Their names (null: not valid UTF-8, or none) check that protobufjs decodes them as walked.
  let graph: { names: (string | null)[]; inFile: Map<number, InFileData> } | null = null;
  for await (const f of walkFields(reader, 0, reader.size, 'ModelProto', 1)) {
    if (f.field !== 7) {
      await keepField(reader, out, f, 'ModelProto', 1);
      continue;
    }
    expectMessage(reader, f, 'graph', 'ModelProto');
    const value: Parts = { parts: [], length: 0 };
    graph = { names: [], inFile: new Map() };
    const where = 'GraphProto (ModelProto field 7)';
    for await (const g of walkFields(reader, f.valueStart, f.end, where, 2)) {
      if (g.field !== 5) {
        await keepField(reader, value, g, 'GraphProto', 2);
        continue;
      }
      expectMessage(reader, g, 'initializer', where);
      const index = graph.names.length;
      const tensor = await walkTensor(reader, g, `initializer #${index} (${where} field 5)`);
      graph.names.push(tensor.name);
      if (tensor.inFile.size > 0) graph.inFile.set(index, tensor.inFile);
      await pushMessage(reader, value, g, tensor.value, where);
    }
    await pushMessage(reader, out, f, value, 'ModelProto');
  }
  const skeleton = new Uint8Array(out.length);
  let at = 0;
  for (const p of out.parts) {
    skeleton.set(p, at);
    at += p.length;
  }
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(skeleton);
  } catch (error) {
    throw badFile(reader.file, `${NOT_ONNX}the protobuf does not decode (${(error as Error).message}).`, error);
  }
  const inFile = new Map<onnxProto.onnx.ITensorProto, InFileData>();
  if (graph && graph.inFile.size > 0) {
    // A field of the wrong wire type elsewhere could make protobufjs read the graph otherwise than the walk did: check.
    const decoded = model.graph?.initializer ?? [];
    if (decoded.length !== graph.names.length)
      throw badFile(
        reader.file,
        `${NOT_ONNX}the graph holds ${graph.names.length} initializer fields but decodes to ${decoded.length} initializers.`,
      );
    for (const [index, data] of graph.inFile) {
      const tensor = decoded[index]!;
      if (graph.names[index] !== null && (tensor.name ?? '') !== graph.names[index])
        throw badFile(
          reader.file,
          `${NOT_ONNX}initializer #${index} is named ${showValue(graph.names[index])} in the file but decodes as ${showValue(tensor.name)}.`,
        );
      inFile.set(tensor, data);
    }
  }
  return { model, inFile };
}

/** A BadFileError unless `f` is length-delimited (the wire type of a message field). */
function expectMessage(reader: WireReader, f: WireField, name: string, message: string): void {
  if (f.wire !== WireType.LEN)
    throw badFile(
      reader.file,
      `${NOT_ONNX}${message} field ${f.field} (${name}) at byte ${f.start} has wire type ${f.wire}; expected 2 (a message).`,
    );
}

/**
 * One initializer TensorProto: its fields re-emitted without the data fields left in the file
 * (those of wire type 2, at least {@link IN_FILE_MIN_BYTES} long, occurring once: a field that
 * occurs twice is decoded in memory, so protobufjs merges it as it always did), and its name.
 */
async function walkTensor(
  reader: WireReader,
  field: WireField,
  where: string,
): Promise<{ value: Parts; inFile: Map<number, InFileField>; name: string | null }> {
  const seen = new Map<number, number>();
  let name: string | null = null;
  for await (const t of walkFields(reader, field.valueStart, field.end, where, 3)) {
    if (DATA_FIELDS.has(t.field)) seen.set(t.field, (seen.get(t.field) ?? 0) + 1);
    if (t.field === 8 && t.wire === WireType.LEN) {
      // Only a valid UTF-8 name is compared with protobufjs's decoding (which replaces bad bytes its own way).
      const bytes = await reader.bytes(t.valueStart, t.end - t.valueStart, `the name of ${where}`);
      try {
        name = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        name = null;
      }
    }
  }
  const value: Parts = { parts: [], length: 0 };
  const inFile = new Map<number, InFileField>();
  for await (const t of walkFields(reader, field.valueStart, field.end, where, 3)) {
    const length = t.end - t.valueStart;
    if (DATA_FIELDS.has(t.field) && t.wire === WireType.LEN && seen.get(t.field) === 1 && length >= IN_FILE_MIN_BYTES)
      inFile.set(t.field, { offset: t.valueStart, length });
    else push(value, await reader.bytes(t.start, t.end - t.start, `field ${t.field} of ${where}`));
  }
  return { value, inFile, name };
}

/** The external data files an existing .onnx at `path` names (so a save can remove those it no longer uses). */
async function oldExternalData(path: string): Promise<string[]> {
  const file = await openRanges(path);
  try {
    const { model } = await walkModel(new WireReader(file, path, NOT_ONNX));
    return (model.graph?.initializer ?? [])
      .filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
      .map((t) => (t.externalData ?? []).find((e) => e.key === 'location')?.value ?? '')
      .filter((l) => l.endsWith('.data'));
  } finally {
    await file.close();
  }
}

/**
 * Reads every embedding of an ONNX model: each `Gather` (axis 0) whose data input is a 2-D
 * float initializer (float32, float16, bfloat16, float64), also when that initializer is
 * listed among the graph inputs (IR 3 exporters such as PyTorch 0.3 did) or stored as external
 * data beside the model. The layer name is the initializer's, and the config comes from the
 * shape, unless the model carries a `keras_config` metadata property (as ours do). The model is
 * read through bounded reads: a table inside it is read once, by range, not with the whole file.
 */
export async function readOnnx(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const file = await openRanges(path);
  try {
    return await readOnnxFrom(file, path, options, true);
  } finally {
    await file.close();
  }
}

/** @internal {@link readOnnx} on a model held in memory (`path` names it in errors and locates external data). */
export async function readOnnxBytes(bytes: Uint8Array, path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  return readOnnxFrom(memorySource(bytes), path, options, false);
}

async function readOnnxFrom(source: ByteSource, path: string, options: ReadOptions, owned: boolean): Promise<EmbeddingRecord[]> {
  const lazy = await onnxLazyTables(source, path, options, owned);
  try {
    const records: EmbeddingRecord[] = [];
    for (const { source: rows, ...record } of lazy.records) records.push({ ...record, weights: await rows.read(0, rows.rows) });
    return records;
  } finally {
    await lazy.close();
  }
}

/**
 * @internal The tables of an ONNX model, each read a range of rows at a time by its record's
 * `source`: from the model file itself (a table inside the model: raw_data, or packed
 * float_data / double_data / int32_data), or from its external data file. Only the model's
 * fields other than the tables' bytes are held in memory.
 */
export async function openOnnxTables(path: string, options: ReadOptions = {}): Promise<LazyTables> {
  const file = await openRanges(path);
  try {
    const lazy = await onnxLazyTables(file, path, options, true);
    return {
      records: lazy.records,
      close: async () => {
        await Promise.all([lazy.close(), file.close()]);
      },
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** The tables of a model read from `source` (a file held open: `owned`, its reads are fresh buffers; or bytes in memory). */
async function onnxLazyTables(source: ByteSource, path: string, options: ReadOptions, owned: boolean): Promise<LazyTables> {
  const reader = new WireReader(source, path, NOT_ONNX);
  const walked = await walkModel(reader);
  const { tables, ranges } = onnxTables(walked.model, path);
  const open: OpenFile[] = [];
  const close = async () => {
    await Promise.all(open.map((f) => f.close()));
  };
  try {
    const records: LazyRecord[] = [];
    for (const { tensor, found, element, stored } of tables) {
      const { rows, cols } = found;
      let rowsOf: RowSource;
      const external = externalRange(path, tensor, rows * cols * element);
      if (external) {
        const real = await claimExternal(path, tensor, external, ranges);
        const file = await openRanges(real, `${path} (external data ${external.location})`);
        open.push(file);
        if (external.offset + external.length > file.size)
          throw badFile(
            path,
            `truncated: initializer ${showValue(tensor.name)} needs bytes up to ${external.offset + external.length} of its external data, which has ${file.size}.`,
          );
        const read = (offset: number, length: number) => file.read(external.offset + offset, length);
        rowsOf = bytesRowSource(rows, cols, element, read, floatDecoder(stored, true), options.onProgress);
      } else {
        const data = tableData(path, tensor, rows * cols, element, walked.inFile.get(tensor));
        const what = `initializer ${showValue(tensor.name)}`;
        if (data.kind === 'memory')
          rowsOf = bytesRowSource(rows, cols, element, (o, l) => data.bytes.subarray(o, o + l), floatDecoder(stored), options.onProgress);
        else if (data.kind === 'range') {
          // The walk checked the range against the file's size; a file's reads are fresh buffers (decoded in place).
          const read = (o: number, l: number) => source.read(data.offset + o, l);
          rowsOf = bytesRowSource(rows, cols, element, read, floatDecoder(stored, owned), options.onProgress);
        } else rowsOf = await varintRowSource(reader, data.offset, data.length, rows, cols, stored, what, options.onProgress);
      }
      records.push(makeLazyRecord(path, 'onnx', found, rowsOf, options));
    }
    return { records, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Where a table inside the model holds its values. */
type TableData =
  /** Decoded in memory: small fields, or a typed field written unpacked or in several pieces. */
  | { kind: 'memory'; bytes: Uint8Array }
  /** Little-endian values of the tensor's type in the model file: raw_data, packed float_data / double_data. */
  | { kind: 'range'; offset: number; length: number }
  /** Packed int32_data in the model file: one varint per float16 / bfloat16 value (its bits). */
  | { kind: 'varints'; offset: number; length: number };

/**
 * Where an in-model initializer's `count` values are, checked as the whole-table reader always
 * did: a non-empty raw_data must hold exactly their bytes; else float_data (FLOAT), double_data
 * (DOUBLE) or int32_data (FLOAT16, BFLOAT16) of exactly `count` values.
 */
function tableData(path: string, tensor: onnxProto.onnx.ITensorProto, count: number, element: number, inFile?: InFileData): TableData {
  const where = `initializer ${showValue(tensor.name)}`;
  const byteLength = count * element;
  const rawInFile = inFile?.get(RAW_DATA);
  if (rawInFile) {
    if (rawInFile.length !== byteLength)
      throw badFile(path, `${where}: raw_data holds ${rawInFile.length} bytes, its dims need ${byteLength}.`);
    return { kind: 'range', ...rawInFile };
  }
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== byteLength) throw badFile(path, `${where}: raw_data holds ${raw.length} bytes, its dims need ${byteLength}.`);
    return { kind: 'memory', bytes: raw };
  }
  const type = tensor.dataType;
  const floats = inFile?.get(FLOAT_DATA);
  if (type === DataType.FLOAT && floats?.length === count * 4) return { kind: 'range', ...floats };
  if (type === DataType.FLOAT && tensor.floatData?.length === count)
    return { kind: 'memory', bytes: new Uint8Array(Float32Array.from(tensor.floatData).buffer) };
  const doubles = inFile?.get(DOUBLE_DATA);
  if (type === DataType.DOUBLE && doubles?.length === count * 8) return { kind: 'range', ...doubles };
  if (type === DataType.DOUBLE && tensor.doubleData?.length === count)
    return { kind: 'memory', bytes: new Uint8Array(Float64Array.from(tensor.doubleData).buffer) };
  const halves = type === DataType.FLOAT16 || type === DataType.BFLOAT16;
  const ints = inFile?.get(INT32_DATA);
  // Each value is a varint of 1 to 10 bytes; varintRowSource counts them.
  if (halves && ints && ints.length >= count && ints.length <= count * 10) return { kind: 'varints', ...ints };
  if (halves && tensor.int32Data?.length === count)
    return { kind: 'memory', bytes: new Uint8Array(Uint16Array.from(tensor.int32Data).buffer) };
  const found = [...(inFile ?? new Map<number, InFileField>()).entries()].map(
    ([field, f]) =>
      `${{ [FLOAT_DATA]: 'float_data', [INT32_DATA]: 'int32_data', [DOUBLE_DATA]: 'double_data' }[field] ?? `field ${field}`} of ${f.length} bytes`,
  );
  throw badFile(
    path,
    `${where}: expected ${count} values in raw_data or the typed data field, found none of that length${found.length > 0 ? ` (the file has ${found.join(', ')})` : ''}.`,
  );
}

/** Rows of the varint index of {@link varintRowSource}: one offset per this many rows. */
const VARINT_INDEX_ROWS = 1024;
/** Bytes scanned at a time when counting varints. */
const SCAN_BYTES = 4 * 1024 * 1024;

/**
 * A {@link RowSource} over packed int32_data in the model file holding float16 / bfloat16 bits
 * (one varint per value, as ONNX stores them): first a scan, a few MiB at a time, that counts
 * the values (there must be rows x cols, each of at most 10 bytes) and records where every
 * {@link VARINT_INDEX_ROWS}-th row begins; then each read decodes just its rows' varints. The
 * low 16 bits of each value are the bits, as the whole-table reader took them.
 */
async function varintRowSource(
  reader: WireReader,
  offset: number,
  length: number,
  rows: number,
  cols: number,
  stored: FloatStored,
  what: string,
  onProgress?: ReadOptions['onProgress'],
): Promise<RowSource> {
  const count = rows * cols;
  const perBlock = VARINT_INDEX_ROWS * cols;
  const index = new Float64Array(Math.ceil(rows / VARINT_INDEX_ROWS) + 1);
  let values = 0;
  let run = 0;
  for (let at = 0; at < length; at += SCAN_BYTES) {
    const bytes = await reader.bytes(offset + at, Math.min(SCAN_BYTES, length - at), `int32_data of ${what}`);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80) {
        if (++run >= 10)
          throw badFile(reader.file, `${what}: a varint of int32_data at byte ${offset + at + i - 9} is longer than 10 bytes.`);
        continue;
      }
      run = 0;
      values++;
      if (values % perBlock === 0 && values / perBlock < index.length) index[values / perBlock] = at + i + 1;
    }
  }
  if (run > 0) throw badFile(reader.file, `truncated: ${what}: int32_data ends inside a varint (byte ${offset + length}).`);
  if (values !== count) throw badFile(reader.file, `${what}: expected ${count} values in int32_data, found ${values}.`);
  index[index.length - 1] = length;
  const decode = floatDecoder(stored);
  let done = 0;
  return rowSource(rows, cols, async (start, n) => {
    const first = Math.floor(start / VARINT_INDEX_ROWS);
    const last = Math.min(index.length - 1, Math.ceil((start + n) / VARINT_INDEX_ROWS));
    const from = index[first]!;
    const bytes = await reader.bytes(offset + from, index[last]! - from, `int32_data of ${what}`);
    const skip = (start - first * VARINT_INDEX_ROWS) * cols;
    const bits = new Uint8Array(n * cols * 2);
    let value = 0;
    let i = 0;
    for (let k = 0; k < skip; k++) while (bytes[i++]! >= 0x80);
    for (let k = 0; k < n * cols; k++) {
      // The low 16 bits come from the first three bytes; the rest of a long varint is skipped.
      let b = bytes[i++]!;
      value = b & 0x7f;
      if (b >= 0x80) {
        b = bytes[i++]!;
        value |= (b & 0x7f) << 7;
        if (b >= 0x80) {
          b = bytes[i++]!;
          value |= (b & 0x7f) << 14;
          while (b >= 0x80) b = bytes[i++]!;
        }
      }
      bits[2 * k] = value & 0xff;
      bits[2 * k + 1] = (value >>> 8) & 0xff;
    }
    done = Math.min(length, done + bytes.length);
    onProgress?.(done, length);
    return decode(bits, n * cols);
  });
}

/** The real path of an initializer's external data (inside the model's folder), its byte range claimed for this load. */
async function claimExternal(
  path: string,
  tensor: onnxProto.onnx.ITensorProto,
  external: ExternalRange,
  ranges: ReadRanges,
): Promise<string> {
  const where = `initializer ${showValue(tensor.name)}`;
  const real = await resolveInside(path, external.location, path, `${where}: external data location`);
  ranges.claim(real, external.offset, external.offset + external.length, where);
  return real;
}

/** Where an external-data initializer's bytes lie. */
interface ExternalRange {
  location: string;
  offset: number;
  length: number;
}

/** Where an external-data initializer's bytes are (checked against its dims), or null for a table inside the model. */
function externalRange(path: string, tensor: onnxProto.onnx.ITensorProto, byteLength: number): ExternalRange | null {
  if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return null;
  const where = `initializer ${showValue(tensor.name)}`;
  const entries = new Map((tensor.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) throw badFile(path, `${where} is stored as external data without a location.`);
  const offset = Number(entries.get('offset') ?? 0);
  const length = entries.has('length') ? Number(entries.get('length')) : byteLength;
  if (length !== byteLength) throw badFile(path, `${where}: external data length ${length} does not match its dims (${byteLength} bytes).`);
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw badFile(path, `${where}: external data offset ${showValue(entries.get('offset'))} is not a non-negative integer.`);
  return { location, offset, length };
}

/** One embedding table of a model: its initializer, its record's fields, its element size and type. */
interface OnnxTable {
  tensor: onnxProto.onnx.ITensorProto;
  found: Omit<FoundMatrix, 'weights'>;
  element: number;
  stored: FloatStored;
}

/** The embedding tables of a decoded model: each Gather (axis 0) over a 2-D float initializer, with its record's fields. */
function onnxTables(model: onnxProto.onnx.ModelProto, path: string): { tables: OnnxTable[]; ranges: ReadRanges } {
  const graph = model.graph;
  if (!graph?.node || graph.node.length === 0) throw badFile(path, 'not an ONNX model: it has no graph nodes.');
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  let kerasConfig: { config: EmbeddingConfig; notes: readonly string[]; source: Record<string, unknown> } | null = null;
  const kerasText = meta.get('keras_config');
  if (kerasText) {
    const source = parseFileJson(kerasText, path, 'the keras_config metadata property') as Record<string, unknown>;
    if (typeof source !== 'object' || source === null || Array.isArray(source))
      throw badFile(path, `the keras_config metadata property is not a JSON object: ${showValue(source)}.`);
    kerasConfig = { ...readLayerConfig(source, path), source: (source.config ?? source) as Record<string, unknown> };
  }
  const seen = new Set<string>();
  const tables: OnnxTable[] = [];
  const gathers = graph.node.filter((n) => n.opType === 'Gather' && (n.domain ?? '') in { '': 1, 'ai.onnx': 1 });
  for (const node of gathers) {
    const dataName = node.input?.[0] ?? '';
    const tensor = initializers.get(dataName);
    if (!tensor || seen.has(dataName)) continue;
    const axis = toNumber(node.attribute?.find((a) => a.name === 'axis')?.i);
    const dims = (tensor.dims ?? []).map(toNumber);
    const type = FLOAT_TYPES[tensor.dataType ?? 0];
    if (dims.length !== 2 || !type || (axis !== 0 && axis !== -2)) continue;
    seen.add(dataName);
    const [rows, cols] = dims as [number, number];
    // Our keras_config describes the model's one embedding; use it only for a matching table.
    const useKeras =
      kerasConfig !== null && gathers.length === 1 && kerasConfig.config.inputDim === rows && kerasConfig.config.outputDim === cols;
    const name = useKeras ? String(kerasConfig!.config.name ?? dataName) : dataName;
    tables.push({
      tensor,
      element: type.bytes,
      stored: type.stored,
      found: {
        name,
        rows,
        cols,
        location: `initializer ${dataName}${tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ? ' (external data)' : ''}`,
        storedDtype: type.stored,
        storedBytes: rows * cols * type.bytes,
        fileConfig: useKeras ? kerasConfig!.config : null,
        sourceConfig: useKeras ? kerasConfig!.source : null,
        notes: useKeras ? kerasConfig!.notes : [],
      },
    });
  }
  if (tables.length === 0)
    throw badFile(
      path,
      `no Embedding: expected a Gather (axis 0) whose data is a 2-D float initializer; the graph has ${gathers.length} Gather node(s) and ${initializers.size} initializer(s).`,
    );
  return { tables, ranges: new ReadRanges(path) };
}

/** Options of {@link writeOnnx}. */
export interface WriteOnnxOptions {
  /** Element type of the `indices` input. Default `'int32'` (Keras casts indices to int32); PyTorch exports use int64. */
  readonly onnxIndexType?: OnnxIndexType;
  /**
   * Store the table as external data in `<file>.data` beside the model. Default: only when
   * the table does not fit in one protobuf (2 GiB).
   */
  readonly onnxExternalData?: boolean;
}

/**
 * Writes an ONNX model of the layer, atomically, built by `@embedding-layer/onnx-model`'s
 * `buildEmbeddingModel` (IR 7, opset 13: `Gather(embeddings, indices)`, plus the mask when
 * mask_zero; the Keras config in the `keras_config` metadata property). ONNX Runtime runs it.
 */
export async function writeOnnx(path: string, data: EmbeddingData, options: WriteOnnxOptions = {}): Promise<void> {
  await writeOnnxRows(path, data.config, arrayRows(data.weights, data.config.outputDim), options);
}

/**
 * @internal {@link writeOnnx} from a reader of row ranges (a layer's `readMergedRows`), a chunk
 * of rows at a time: no copy of the whole table is made. With external data, the `.data` file
 * gets the rows and the model only the table's size. A table inside the model (the default
 * under 2 GiB) is streamed into its initializer's raw_data: everything else is encoded in
 * memory by the builder, the lengths of the enclosing TensorProto and GraphProto are computed
 * for the table's size up front, and the file is the same bytes the builder makes of the whole
 * table.
 */
export async function writeOnnxRows(
  path: string,
  config: ResolvedEmbeddingConfig,
  readRows: RowReader,
  options: WriteOnnxOptions = {},
): Promise<void> {
  const { inputDim: rows, outputDim: cols } = config;
  const external = options.onnxExternalData === true || rows * cols * 4 > DEFAULT_EXTERNAL_DATA_THRESHOLD;
  const indexType = options.onnxIndexType ?? 'int32';
  const writeRows = (append: (bytes: Uint8Array) => Promise<void>) =>
    forEachChunk(rows, cols, readRows, (values) => append(tableBytes(values)));
  if (external) {
    await replaceFileSet(
      path,
      [{ name: `${basename(path)}.data`, write: (temp: string) => writeInPieces(temp, writeRows) }],
      (temp, names) =>
        writeBytes(temp, buildEmbeddingModel(config, null, { indexType, externalData: { location: names[0]!, threshold: 0 } })),
      () => oldExternalData(path),
    );
    return;
  }
  const { head, tail } = await spliceTable(buildEmbeddingModel(config, null, { indexType, deferTable: true }), rows * cols * 4);
  await replaceFileSet(
    path,
    [],
    (temp) =>
      writeInPieces(temp, async (append) => {
        await append(head);
        await writeRows(append);
        await append(tail);
      }),
    () => oldExternalData(path),
  );
}

/**
 * The bytes of a model built with `deferTable` before and after its table's raw_data value
 * (the initializer `embeddings`, raw_data empty), with the lengths of that field, its
 * TensorProto and its GraphProto set for a table of `byteLength` bytes.
 */
async function spliceTable(model: Uint8Array, byteLength: number): Promise<{ head: Uint8Array; tail: Uint8Array }> {
  const reader = new WireReader(memorySource(model), 'the model being written');
  for await (const graph of walkFields(reader, 0, model.length, 'ModelProto', 1)) {
    if (graph.field !== 7) continue;
    for await (const tensor of walkFields(reader, graph.valueStart, graph.end, 'GraphProto', 2)) {
      if (tensor.field !== 5) continue;
      let name = '';
      let raw: WireField | null = null;
      for await (const t of walkFields(reader, tensor.valueStart, tensor.end, 'TensorProto', 3)) {
        if (t.field === 8) name = new TextDecoder().decode(model.subarray(t.valueStart, t.end));
        if (t.field === RAW_DATA && t.valueStart === t.end) raw = t;
      }
      if (name === ONNX_NAMES.embeddings && raw) return spliceLengthDelimited(model, [graph, tensor, raw], byteLength);
    }
  }
  throw new Error(`buildEmbeddingModel with deferTable gave no initializer ${ONNX_NAMES.embeddings} with an empty raw_data (a bug).`);
}
