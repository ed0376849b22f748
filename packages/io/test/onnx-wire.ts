// A small protobuf encoder for hand-built ONNX files in tests, written here (not with the
// package's walker nor with onnx-proto) so that the files do not depend on the code under test:
// field numbers are onnx.proto's (ModelProto, GraphProto, NodeProto, TensorProto).

/** The varint encoding of a non-negative integer (up to 2^53). */
export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Concatenation of byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A field key. */
export function key(field: number, wire: number): Uint8Array {
  return varint(field * 8 + wire);
}

/** A length-delimited field (a message, a string, bytes, a packed array) holding `parts`. */
export function len(field: number, ...parts: Uint8Array[]): Uint8Array {
  const value = concat(...parts);
  return concat(key(field, 2), varint(value.length), value);
}

/** A varint field. */
export function num(field: number, value: number): Uint8Array {
  return concat(key(field, 0), varint(value));
}

/** A string field. */
export function str(field: number, value: string): Uint8Array {
  return len(field, new TextEncoder().encode(value));
}

/** ONNX TensorProto.DataType values used here. */
export const ONNX_TYPE = { FLOAT: 1, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16 } as const;

/** TensorProto fields: dims (1, packed), data_type (2), name (8); the data fields are passed in `data`. */
export function tensor(name: string, type: number, dims: readonly number[], ...data: Uint8Array[]): Uint8Array {
  return concat(len(1, ...dims.map(varint)), num(2, type), str(8, name), ...data);
}

/**
 * A ModelProto (IR 7, opset 13) whose graph is `Gather(<table>, ids)` over the initializer
 * `table` (its TensorProto bytes, from {@link tensor}); `graphExtra` is appended to the graph,
 * `modelExtra` after the graph field.
 */
export function gatherModel(
  table: Uint8Array,
  tableName = 'table',
  graphExtra: Uint8Array[] = [],
  modelExtra: Uint8Array[] = [],
): Uint8Array {
  const node = len(1, str(1, tableName), str(1, 'ids'), str(2, 'out'), str(4, 'Gather'));
  const graph = len(7, node, str(2, 'g'), len(5, table), len(11, str(1, 'ids')), len(12, str(1, 'out')), ...graphExtra);
  return concat(num(1, 7), graph, len(8, num(2, 13)), ...modelExtra);
}

/** float16 bits of a value float16 holds exactly (zero, or a normal number): sign, exponent, mantissa. */
export function halfBits(value: number): number {
  if (value === 0) return 0;
  const sign = value < 0 ? 0x8000 : 0;
  const a = Math.abs(value);
  const e = Math.floor(Math.log2(a));
  const mantissa = (a / 2 ** e - 1) * 1024;
  if (!Number.isInteger(mantissa) || e < -14 || e > 15) throw new Error(`${value} is not exact in float16`);
  return sign | ((e + 15) << 10) | mantissa;
}

/** bfloat16 bits of a value bfloat16 holds exactly: the top half of its float32 bits. */
export function bfloat16Bits(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0]!;
  if ((bits & 0xffff) !== 0) throw new Error(`${value} is not exact in bfloat16`);
  return bits >>> 16;
}
