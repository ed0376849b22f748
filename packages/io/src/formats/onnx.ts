import { basename } from 'node:path';
import type { EmbeddingConfig, ResolvedEmbeddingConfig, RowSource } from '@embedding-layer/core';
import { buildEmbeddingModel, DEFAULT_EXTERNAL_DATA_THRESHOLD, type OnnxIndexType, tableBytes } from '@embedding-layer/onnx-model';
import onnxProto from 'onnx-proto';
import { readLayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord } from '../types.js';
import { type FloatStored, floatDecoder } from '../util/float.js';
import {
  fileSize,
  type OpenFile,
  openRanges,
  ReadRanges,
  readRange,
  readWhole,
  replaceFileSet,
  resolveInside,
  writeBytes,
  writeInPieces,
} from '../util/fs.js';
import { parseFileJson, showValue } from '../util/json.js';
import {
  arrayRows,
  bytesRowSource,
  type FoundMatrix,
  forEachChunk,
  type LazyRecord,
  type LazyTables,
  makeLazyRecord,
  makeRecord,
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

async function tensorBytes(path: string, tensor: onnxProto.onnx.ITensorProto, byteLength: number, ranges: ReadRanges): Promise<Uint8Array> {
  const where = `initializer ${showValue(tensor.name)}`;
  const external = externalRange(path, tensor, byteLength);
  if (external) {
    const real = await claimExternal(path, tensor, external, ranges);
    return readRange(real, external.offset, external.length, `${path} (external data ${external.location})`);
  }
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== byteLength) throw badFile(path, `${where}: raw_data holds ${raw.length} bytes, its dims need ${byteLength}.`);
    return raw;
  }
  const count = byteLength / (FLOAT_TYPES[tensor.dataType ?? 0]?.bytes ?? 4);
  if (tensor.dataType === DataType.FLOAT && tensor.floatData?.length === count)
    return new Uint8Array(Float32Array.from(tensor.floatData).buffer);
  if (tensor.dataType === DataType.DOUBLE && tensor.doubleData?.length === count)
    return new Uint8Array(Float64Array.from(tensor.doubleData).buffer);
  if ((tensor.dataType === DataType.FLOAT16 || tensor.dataType === DataType.BFLOAT16) && tensor.int32Data?.length === count)
    return new Uint8Array(Uint16Array.from(tensor.int32Data).buffer);
  throw badFile(path, `${where}: expected ${count} values in raw_data or the typed data field, found none of that length.`);
}

/**
 * Reads every embedding of an ONNX model: each `Gather` (axis 0) whose data input is a 2-D
 * float initializer (float32, float16, bfloat16, float64), also when that initializer is
 * listed among the graph inputs (IR 3 exporters such as PyTorch 0.3 did) or stored as external
 * data beside the model. The layer name is the initializer's, and the config comes from the
 * shape, unless the model carries a `keras_config` metadata property (as ours do).
 */
export async function readOnnx(path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  return readOnnxBytes(await readWhole(path, options.onProgress), path, options);
}

/** @internal {@link readOnnx} on a model held in memory (`path` names it in errors and locates external data). */
export async function readOnnxBytes(bytes: Uint8Array, path: string, options: ReadOptions = {}): Promise<EmbeddingRecord[]> {
  const { tables, ranges } = onnxTables(bytes, path);
  const records: EmbeddingRecord[] = [];
  for (const { tensor, found, element, stored } of tables) {
    const count = found.rows * found.cols;
    const raw = await tensorBytes(path, tensor, count * element, ranges);
    records.push(makeRecord(path, 'onnx', { ...found, weights: floatDecoder(stored)(raw, count) }, options));
  }
  return records;
}

/**
 * @internal The tables of an ONNX model. A table stored as external data is read from its file
 * a range of rows at a time by each record's `source` (the model itself is small then); a table
 * inside the model is decoded from the model's bytes a range at a time.
 */
export async function openOnnxTables(path: string, options: ReadOptions = {}): Promise<LazyTables> {
  const bytes = await readWhole(path);
  const { tables, ranges } = onnxTables(bytes, path);
  const open: OpenFile[] = [];
  const close = async () => {
    await Promise.all(open.map((f) => f.close()));
  };
  try {
    const records: LazyRecord[] = [];
    for (const { tensor, found, element, stored } of tables) {
      const { rows, cols } = found;
      let source: RowSource;
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
        source = bytesRowSource(rows, cols, element, read, floatDecoder(stored, true), options.onProgress);
      } else {
        // The table is inside the model, already in memory: each range is decoded from it.
        const raw = await tensorBytes(path, tensor, rows * cols * element, ranges);
        source = bytesRowSource(rows, cols, element, (offset, length) => raw.subarray(offset, offset + length), floatDecoder(stored));
      }
      records.push(makeLazyRecord(path, 'onnx', found, source, options));
    }
    return { records, close };
  } catch (error) {
    await close();
    throw error;
  }
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
function onnxTables(bytes: Uint8Array, path: string): { tables: OnnxTable[]; ranges: ReadRanges } {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw badFile(path, `not an ONNX model, or truncated: the protobuf does not decode (${(error as Error).message}).`, error);
  }
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

/** The external data files an existing .onnx at `path` names (so a save can remove those it no longer uses). */
async function oldExternalData(path: string): Promise<string[]> {
  if ((await fileSize(path).catch(() => Number.POSITIVE_INFINITY)) > 64 * 1024 * 1024) return [];
  const model = onnx.ModelProto.decode(await readWhole(path));
  return (model.graph?.initializer ?? [])
    .filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    .map((t) => (t.externalData ?? []).find((e) => e.key === 'location')?.value ?? '')
    .filter((l) => l.endsWith('.data'));
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
 * @internal {@link writeOnnx} from a reader of row ranges (a layer's `readMergedRows`). With
 * external data, the `.data` file is written a chunk of rows at a time and the model holds only
 * the table's size, so no copy of the whole table is made; a table inside the model (the
 * default under 2 GiB) is read whole, since one protobuf holds it.
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
  if (external) {
    await replaceFileSet(
      path,
      [
        {
          name: `${basename(path)}.data`,
          write: (temp: string) =>
            writeInPieces(temp, (append) => forEachChunk(rows, cols, readRows, (values) => append(tableBytes(values)))),
        },
      ],
      (temp, names) =>
        writeBytes(temp, buildEmbeddingModel(config, null, { indexType, externalData: { location: names[0]!, threshold: 0 } })),
      () => oldExternalData(path),
    );
    return;
  }
  const weights = await readRows(0, rows);
  await replaceFileSet(
    path,
    [],
    (temp) => writeBytes(temp, buildEmbeddingModel(config, weights, { indexType })),
    () => oldExternalData(path),
  );
}
