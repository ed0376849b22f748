import { type EmbeddingConfig, toKerasConfig } from '@embedding-layer/core';
import { readLayerConfig } from '../config/dialects.js';
import { badFile } from '../errors.js';
import type { EmbeddingData, EmbeddingRecord, StoredDtype } from '../types.js';
import { decodeBfloat16, decodeFloat32, decodeFloat64, decodeHalf, encodeBfloat16, encodeHalf, float32Bytes } from '../util/float.js';
import { atomicWrite, ReadRanges, readWhole } from '../util/fs.js';
import { parseFileJson, showValue } from '../util/json.js';
import { layerNameFromTensor, makeRecord, type ReadOptions } from './common.js';

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
const FLOAT_DTYPES: Readonly<Record<string, StoredDtype>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

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

/** Element types {@link encodeSafetensors} writes. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

/** Decodes a safetensors file, checking the header against the buffer. Throws `BadFileError` naming `file`. */
export function decodeSafetensors(bytes: Uint8Array, file = '<safetensors>'): SafetensorsFile {
  if (bytes.length < 8)
    throw badFile(file, `truncated: a safetensors file starts with an 8-byte header size, the file has ${bytes.length} bytes.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = view.getBigUint64(0, true);
  if (size > BigInt(bytes.length - 8) || size < 2n)
    throw badFile(
      file,
      `not a safetensors file or truncated: the header size is ${size} bytes, the file has ${bytes.length - 8} after it.`,
    );
  const headerEnd = 8 + Number(size);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd));
  } catch (error) {
    throw badFile(file, `not a safetensors file: the header is not UTF-8 (${(error as Error).message}).`, error);
  }
  const header = parseFileJson(text, file, 'not a safetensors file: the header');
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw badFile(file, 'not a safetensors file: the header is not a JSON object.');
  const buffer = bytes.subarray(headerEnd);
  // The format forbids tensors that share bytes: overlapping data_offsets are refused.
  const ranges = new ReadRanges(file);
  const tensors: SafetensorsTensor[] = [];
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
    if (end > buffer.length)
      throw badFile(file, `truncated: tensor ${showValue(name)} ends at byte ${end} of the data, which has ${buffer.length} bytes.`);
    ranges.claim('data', begin, end, `tensor ${showValue(name)}`);
    tensors.push({ name, dtype, shape: shape as number[], bytes: buffer.subarray(begin, end) });
  }
  return { tensors, metadata };
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
    const body = dtype === 'F32' ? float32Bytes(t.data) : dtype === 'F16' ? encodeHalf(t.data) : encodeBfloat16(t.data);
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + body.length] };
    bodies.push(body);
    offset += body.length;
  }
  let json = JSON.stringify(header);
  const encoded = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (encoded.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const body of bodies) {
    out.set(body, at);
    at += body.length;
  }
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
  const file = decodeSafetensors(bytes, path);
  const records: EmbeddingRecord[] = [];
  for (const t of file.tensors) {
    const stored = FLOAT_DTYPES[t.dtype];
    if (!stored || t.shape.length !== 2) continue;
    const [rows, cols] = t.shape as [number, number];
    const count = rows * cols;
    const weights =
      stored === 'float32'
        ? decodeFloat32(t.bytes, count)
        : stored === 'float16'
          ? decodeHalf(t.bytes, count)
          : stored === 'bfloat16'
            ? decodeBfloat16(t.bytes, count)
            : decodeFloat64(t.bytes, count);
    const configText = file.metadata[`${SAFETENSORS_CONFIG_KEY_PREFIX}${t.name}`];
    let fileConfig: EmbeddingConfig | null = null;
    let sourceConfig: Record<string, unknown> | null = null;
    let notes: readonly string[] = [];
    if (typeof configText === 'string') {
      sourceConfig = parseFileJson(configText, path, `metadata ${SAFETENSORS_CONFIG_KEY_PREFIX}${showValue(t.name)}`) as Record<
        string,
        unknown
      >;
      ({ config: fileConfig, notes } = readLayerConfig(sourceConfig, path));
    }
    records.push(
      makeRecord(
        path,
        'safetensors',
        {
          name: fileConfig?.name ?? layerNameFromTensor(t.name),
          weights,
          rows,
          cols,
          location: t.name,
          storedDtype: stored,
          storedBytes: t.bytes.length,
          fileConfig,
          sourceConfig,
          notes,
        },
        options,
      ),
    );
  }
  if (records.length === 0)
    throw badFile(
      path,
      `no Embedding matrix: expected a 2-D F32, F16, BF16 or F64 tensor, found ${showValue(file.tensors.slice(0, 8).map((t) => `${t.name} ${t.dtype} [${t.shape.join(', ')}]`))}${file.tensors.length > 8 ? ` and ${file.tensors.length - 8} more` : ''}${file.tensors.length === 0 ? ' (no tensors)' : ''}.`,
    );
  return records;
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
  const name = options.tensorName ?? `${data.config.name}.weight`;
  const bytes = encodeSafetensors(
    [{ name, data: data.weights, shape: [data.config.inputDim, data.config.outputDim], dtype: options.dtype ?? 'F32' }],
    { format: 'pt', [`${SAFETENSORS_CONFIG_KEY_PREFIX}${name}`]: JSON.stringify(safetensorsConfig(data.config)) },
  );
  await atomicWrite(path, bytes);
}
