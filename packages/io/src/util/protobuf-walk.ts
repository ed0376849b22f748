// The protobuf wire format, walked through bounded positioned reads: a reader of tags, varints
// and length-delimited fields that checks every length against the message that holds it and
// the file's real size before anything is allocated, and the varint arithmetic a writer needs to
// splice a large bytes field into an encoded message. No schema: callers say which fields are
// messages to descend into (ONNX's ModelProto -> GraphProto -> TensorProto in formats/onnx.ts).
import { badFile } from '../errors.js';

/** @internal Protobuf wire types. Groups (3, 4) are a proto2 relic that ONNX never uses. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

/** @internal Bytes read by position: a file held open for ranges, or bytes in memory. */
export interface ByteSource {
  /** Size in bytes: no read goes past it. */
  readonly size: number;
  /** `length` bytes at `position` (inside `size`). */
  read(position: number, length: number): Promise<Uint8Array> | Uint8Array;
}

/** @internal A {@link ByteSource} over bytes in memory (views, no copies). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (position, length) => bytes.subarray(position, position + length) };
}

/** @internal One field of a message, located in the source. */
export interface WireField {
  /** Field number. */
  readonly field: number;
  /** Wire type: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit. */
  readonly wire: number;
  /** Offset of the field's key (tag). */
  readonly start: number;
  /** Offset just after the key: where the value (or, for length-delimited fields, its length) begins. */
  readonly keyEnd: number;
  /** Offset of the value (after the length, for length-delimited fields). */
  readonly valueStart: number;
  /** Offset just past the field. */
  readonly end: number;
  /** A varint field's value (exact up to 2^53). */
  readonly varint: number;
}

/**
 * @internal The default nesting bound of {@link walkFields}: ONNX's walk to the tables needs 3
 * levels (model, graph, tensor); deeper walks (graphs in node attributes) pass their own bound.
 */
export const MAX_WALK_DEPTH = 8;

/** Bytes read ahead for keys and varints, so that small fields cost no read of their own. */
const WINDOW_BYTES = 64 * 1024;

/**
 * @internal Reads keys, varints and byte ranges of a {@link ByteSource}, through a small window
 * for the keys and varints. Every range is checked against the source's size before a buffer
 * is allocated for it; a range past it is a `BadFileError` (truncated) naming `file`.
 */
export class WireReader {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;

  /**
   * @param file Names the file in errors.
   * @param damaged Begins the message of an error that is not a truncation (e.g. `'not an ONNX
   *   model, or damaged: '`), so that a file of another kind is named as such.
   */
  constructor(
    readonly source: ByteSource,
    readonly file: string,
    readonly damaged = '',
  ) {}

  /** The source's size in bytes. */
  get size(): number {
    return this.source.size;
  }

  /**
   * `length` bytes at `position`, for `what`: a copy out of the window when inside it (so that
   * what a caller keeps does not hold the window's buffer alive), else one read.
   */
  async bytes(position: number, length: number, what: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > this.size)
      throw badFile(this.file, `truncated: ${what} needs bytes ${position} to ${position + length}, the file has ${this.size} bytes.`);
    const from = position - this.windowStart;
    if (from >= 0 && from + length <= this.window.length) return this.window.slice(from, from + length);
    const out = await this.source.read(position, length);
    if (out.length !== length)
      throw badFile(this.file, `truncated: ${what} needs ${length} bytes at offset ${position}, the read gave ${out.length}.`);
    return out;
  }

  /**
   * Makes the window hold bytes `[position, position + want)` (fewer at the end of the file),
   * reading ahead {@link WINDOW_BYTES} when it does not already.
   */
  async ensure(position: number, want: number): Promise<void> {
    const from = position - this.windowStart;
    const need = Math.min(want, this.size - position);
    if (from >= 0 && from + need <= this.window.length) return;
    const length = Math.max(0, Math.min(Math.max(WINDOW_BYTES, want), this.size - position));
    const window = length > 0 ? await this.source.read(position, length) : new Uint8Array(0);
    if (window.length !== length)
      throw badFile(this.file, `truncated: expected ${length} bytes at offset ${position}, the read gave ${window.length}.`);
    this.window = window;
    this.windowStart = position;
  }

  /** The bytes read ahead, and the file offset of their first byte (see {@link ensure}). */
  get view(): BytesAt {
    return { bytes: this.window, base: this.windowStart };
  }
}

/** @internal Bytes of a file in memory, `bytes[0]` being the byte at offset `base` of the file. */
export interface BytesAt {
  readonly bytes: Uint8Array;
  readonly base: number;
}

/** Bytes a field's key and its varint value or length can take: 10 + 10. */
const FIELD_HEAD_BYTES = 20;

/**
 * The varint at file offset `position` of `at`'s bytes, which must end before `end` (its
 * message's end): its value (exact up to 2^53, approximate above, which no length or size
 * inside a file reaches) and the offset after it. More than 10 bytes, or running past `end`,
 * is a `BadFileError`.
 */
function varintAt(reader: WireReader, at: BytesAt, position: number, end: number, what: string): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (position + i >= end)
      throw badFile(
        reader.file,
        `${end >= reader.size ? 'truncated: ' : reader.damaged}${what}: the varint at byte ${position} runs past ${
          end >= reader.size ? `the end of the file (${reader.size} bytes)` : `the end of its message (byte ${end})`
        }.`,
      );
    const b = at.bytes[position + i - at.base]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return { value, next: position + i + 1 };
  }
  throw badFile(
    reader.file,
    `${reader.damaged}${what}: the varint at byte ${position} is longer than 10 bytes (not protobuf, or damaged).`,
  );
}

/**
 * The field at file offset `start` of a message ending at `end`, parsed from `at` (which holds
 * its first {@link FIELD_HEAD_BYTES} bytes, or up to `end`) and checked: a field number over 0,
 * a known wire type (groups and types 6, 7 are refused), a value that ends inside the message.
 */
function fieldAt(reader: WireReader, at: BytesAt, start: number, end: number, message: string): WireField {
  const key = varintAt(reader, at, start, end, `a field key of ${message}`);
  const field = Math.floor(key.value / 8);
  const wire = key.value % 8;
  if (key.value > 0xffffffff || field === 0)
    throw badFile(
      reader.file,
      `${reader.damaged}${message}: the field key at byte ${start} is ${key.value}, not a valid field number (not protobuf, or damaged).`,
    );
  let valueStart = key.next;
  let next: number;
  let varint = 0;
  if (wire === WireType.VARINT) {
    const v = varintAt(reader, at, key.next, end, `field ${field} of ${message}`);
    varint = v.value;
    next = v.next;
  } else if (wire === WireType.I64) next = key.next + 8;
  else if (wire === WireType.I32) next = key.next + 4;
  else if (wire === WireType.LEN) {
    const length = varintAt(reader, at, key.next, end, `the length of field ${field} of ${message}`);
    valueStart = length.next;
    next = length.next + length.value;
  } else
    throw badFile(
      reader.file,
      `${reader.damaged}${message}: field ${field} at byte ${start} has wire type ${wire} (${
        wire === 3 || wire === 4 ? 'a group, which ONNX never uses' : 'not a protobuf wire type'
      }); expected 0, 1, 2 or 5.`,
    );
  if (next > end) {
    const past = end >= reader.size ? `the file ends at byte ${reader.size}` : `its message ends at byte ${end}`;
    throw badFile(
      reader.file,
      `${end >= reader.size ? 'truncated: ' : reader.damaged}${message}: field ${field} at byte ${start} needs ${next - valueStart} bytes from byte ${valueStart}, but ${past} (${end - valueStart} bytes remain).`,
    );
  }
  return { field, wire, start, keyEnd: key.next, valueStart, end: next, varint };
}

function checkMessage(reader: WireReader, start: number, end: number, message: string, depth: number, maxDepth: number): void {
  if (depth > maxDepth)
    throw badFile(
      reader.file,
      `${reader.damaged}${message} at byte ${start} is nested ${depth} messages deep; expected at most ${maxDepth}.`,
    );
  if (end > reader.size)
    throw badFile(reader.file, `truncated: ${message} needs bytes ${start} to ${end}, the file has ${reader.size} bytes.`);
}

/**
 * @internal The fields of the message in bytes `[start, end)` of `reader`'s file, in order,
 * read through its window, each checked as {@link fieldAt} says. `message` names it in errors
 * (`'GraphProto (ModelProto field 7)'`); `depth` is its nesting level (the outermost message
 * is 1), refused over `maxDepth`.
 */
export async function* walkFields(
  reader: WireReader,
  start: number,
  end: number,
  message: string,
  depth: number,
  maxDepth = MAX_WALK_DEPTH,
): AsyncGenerator<WireField> {
  checkMessage(reader, start, end, message, depth, maxDepth);
  for (let at = start; at < end; ) {
    await reader.ensure(at, FIELD_HEAD_BYTES);
    const f = fieldAt(reader, reader.view, at, end, message);
    yield f;
    at = f.end;
  }
}

/**
 * @internal {@link walkFields} over bytes already in memory (`inMemory` holds the whole
 * message): the same checks, without a read per field. Offsets are the file's.
 */
export function* walkFieldsIn(
  reader: WireReader,
  inMemory: BytesAt,
  start: number,
  end: number,
  message: string,
  depth: number,
  maxDepth = MAX_WALK_DEPTH,
): Generator<WireField> {
  checkMessage(reader, start, end, message, depth, maxDepth);
  for (let at = start; at < end; ) {
    const f = fieldAt(reader, inMemory, at, end, message);
    yield f;
    at = f.end;
  }
}

/** @internal Bytes of the varint encoding of a non-negative safe integer. */
export function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 128; v = Math.floor(v / 128)) size++;
  return size;
}

/** @internal The varint encoding of a non-negative safe integer (the shortest, as every protobuf writer emits). */
export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintSize(value));
  let v = value;
  for (let i = 0; i < out.length; i++) {
    out[i] = i < out.length - 1 ? (v % 128) | 0x80 : v;
    v = Math.floor(v / 128);
  }
  return out;
}

/**
 * @internal Splits encoded protobuf `bytes` around a length-delimited field so that a value of
 * `length` bytes can be written between the two parts: `head + value + tail` is `bytes` with
 * that field's value replaced, every enclosing length corrected. `path` holds the field and its
 * enclosing length-delimited fields, outermost first, as {@link walkFields} located them in
 * `bytes`. The shortest varints are used, so the result is what a protobuf encoder makes of the
 * same message.
 */
export function spliceLengthDelimited(
  bytes: Uint8Array,
  path: readonly WireField[],
  length: number,
): { head: Uint8Array; tail: Uint8Array } {
  const lengths = new Array<number>(path.length);
  lengths[path.length - 1] = length;
  for (let i = path.length - 2; i >= 0; i--) {
    const outer = path[i]!;
    const inner = path[i + 1]!;
    const innerOld = inner.end - inner.start;
    const innerNew = inner.keyEnd - inner.start + varintSize(lengths[i + 1]!) + lengths[i + 1]!;
    lengths[i] = outer.end - outer.valueStart - innerOld + innerNew;
  }
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [i, f] of path.entries()) {
    parts.push(bytes.subarray(at, f.keyEnd), encodeVarint(lengths[i]!));
    at = f.valueStart;
  }
  const head = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    head.set(p, o);
    o += p.length;
  }
  return { head, tail: bytes.slice(path[path.length - 1]!.end) };
}
