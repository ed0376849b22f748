// Hostile ONNX wire formats against the walk that reads a model through bounded reads: every
// length is checked against its message and the file's real size before anything is allocated,
// the nesting is bounded, and a truncated or lying file is a BadFileError naming the file and
// saying what was expected and what came, from the whole-table reader and the streamed load alike.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxBytes } from '../src/formats/onnx.js';
import { loadEmbedding, readEmbeddings } from '../src/index.js';
import { concat, gatherModel, key, len, num, ONNX_TYPE, str, tensor, varint } from './onnx-wire.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-onnx-hostile-');
});
afterAll(() => tmp.cleanup());

/** A 32 x 32 float32 table (4 KiB of raw_data: left in the file by the walk). */
const TABLE = Float32Array.from({ length: 32 * 32 }, (_, i) => i / 8);
const RAW = new Uint8Array(TABLE.buffer);

/** Reading `bytes` as a model fails with a BadFileError whose message names the file and matches `message`, in every reader. */
async function refused(name: string, bytes: Uint8Array, message: RegExp): Promise<void> {
  const path = join(tmp.dir, name);
  await writeFile(path, bytes);
  const attempts: [string, () => Promise<unknown>][] = [
    ['readEmbeddings', () => readEmbeddings(path)],
    ['loadEmbedding', () => loadEmbedding(path, { backend: createJsBackend() })],
    ['readOnnxBytes', () => readOnnxBytes(bytes, path)],
  ];
  for (const [reader, attempt] of attempts) {
    const error = await attempt().then(
      () => new Error('read without an error'),
      (e: unknown) => e,
    );
    expect(BadFileError.isInstance(error), `${name}, ${reader}: ${String(error)}`).toBe(true);
    expect((error as Error).message.startsWith(`${path}: `), `${name}, ${reader}: ${(error as Error).message}`).toBe(true);
    expect((error as Error).message, `${name}, ${reader}`).toMatch(message);
  }
}

/** The model of {@link TABLE} with the table's TensorProto fields given. */
function model(...fields: Uint8Array[]): Uint8Array {
  return gatherModel(tensor('table', ONNX_TYPE.FLOAT, [32, 32], ...fields));
}

describe('hostile in-model ONNX wire formats', () => {
  it('the well-formed model these cases break loads', async () => {
    const path = join(tmp.dir, 'good.onnx');
    await writeFile(path, model(len(9, RAW)));
    const layer = await loadEmbedding(path, { backend: createJsBackend() });
    expect(Array.from((await layer.getWeights())[0]!)).toEqual(Array.from(TABLE));
    await layer.dispose();
  });

  it('a file cut inside the table: truncated, with the bytes the graph needs and the size of the file', async () => {
    const good = model(len(9, RAW));
    const cut = good.subarray(0, good.length - 2000);
    await refused(
      'cut.onnx',
      cut,
      /truncated: ModelProto: field 7 at byte \d+ needs \d+ bytes from byte \d+, but the file ends at byte \d+ \(\d+ bytes remain\)/,
    );
  });

  it('a graph claiming a terabyte: refused before any allocation', async () => {
    const graph = concat(key(7, 2), varint(2 ** 40), new Uint8Array(100));
    await refused(
      'terabyte-graph.onnx',
      concat(num(1, 7), graph),
      /truncated: ModelProto: field 7 at byte 2 needs 1099511627776 bytes from byte 9, but the file ends at byte 109/,
    );
  });

  it('raw_data claiming 2^50 bytes inside a small tensor: refused, naming the initializer and its message end', async () => {
    const lying = concat(key(9, 2), varint(2 ** 50), RAW);
    await refused(
      'petabyte-raw.onnx',
      model(lying),
      /initializer #0 \(GraphProto \(ModelProto field 7\) field 5\): field 9 at byte \d+ needs 1125899906842624 bytes from byte \d+, but its message ends at byte \d+/,
    );
  });

  it('an initializer longer than its graph: the graph ends first', async () => {
    // The graph's length is right, the TensorProto inside claims 10 bytes more than the graph has left.
    const tensorBytes = tensor('table', ONNX_TYPE.FLOAT, [32, 32], len(9, RAW));
    const lyingTensor = concat(key(5, 2), varint(tensorBytes.length + 10), tensorBytes);
    const node = len(1, str(1, 'table'), str(1, 'ids'), str(2, 'out'), str(4, 'Gather'));
    const graph = len(7, node, lyingTensor);
    // A field after the graph, so that the file goes on past the graph's end.
    await refused(
      'long-tensor.onnx',
      concat(num(1, 7), graph, str(6, 'a doc string after the graph')),
      /GraphProto \(ModelProto field 7\): field 5 at byte \d+ needs \d+ bytes from byte \d+, but its message ends at byte \d+ \(\d+ bytes remain\)/,
    );
  });

  it('a varint of 11 bytes', async () => {
    await refused(
      'long-varint.onnx',
      concat(key(1, 0), new Uint8Array(10).fill(0x80), Uint8Array.of(1)),
      /not an ONNX model, or damaged: field 1 of ModelProto: the varint at byte 1 is longer than 10 bytes/,
    );
  });

  it('a varint running off the end of the file', async () => {
    await refused(
      'open-varint.onnx',
      concat(model(len(9, RAW)), key(1, 0), Uint8Array.of(0x80, 0x80)),
      /truncated: field 1 of ModelProto: the varint at byte \d+ runs past the end of the file/,
    );
  });

  it('groups, wire types 6 and 7, field number 0', async () => {
    await refused(
      'group.onnx',
      concat(num(1, 7), key(3, 3)),
      /ModelProto: field 3 at byte 2 has wire type 3 \(a group, which ONNX never uses\); expected 0, 1, 2 or 5/,
    );
    await refused(
      'wire7.onnx',
      model(len(9, RAW), key(12, 7)),
      /initializer #0 .*: field 12 at byte \d+ has wire type 7 \(not a protobuf wire type\)/,
    );
    await refused(
      'field0.onnx',
      concat(num(1, 7), Uint8Array.of(0x02, 0x00)),
      /ModelProto: the field key at byte 2 is 2, not a valid field number/,
    );
  });

  it('a graph or an initializer that is not a message', async () => {
    await refused(
      'graph-varint.onnx',
      concat(num(1, 7), num(7, 5)),
      /ModelProto field 7 \(graph\) at byte 2 has wire type 0; expected 2 \(a message\)/,
    );
    const node = len(1, str(1, 'table'), str(1, 'ids'), str(2, 'out'), str(4, 'Gather'));
    await refused(
      'initializer-fixed.onnx',
      concat(num(1, 7), len(7, node, key(5, 5), new Uint8Array(4))),
      /GraphProto \(ModelProto field 7\) field 5 \(initializer\) at byte \d+ has wire type 5; expected 2/,
    );
  });

  it('raw_data in the file that does not fill the dims, with both lengths', async () => {
    await refused('short-raw.onnx', model(len(9, RAW.subarray(4))), /initializer "table": raw_data holds 4092 bytes, its dims need 4096/);
  });

  it('packed float_data of the wrong length, with what the file has', async () => {
    await refused(
      'short-floats.onnx',
      model(len(4, RAW.subarray(8))),
      /initializer "table": expected 1024 values in raw_data or the typed data field, found none of that length \(the file has float_data of 4088 bytes\)/,
    );
  });

  it('float16 int32_data: a value short, and a varint cut at the end of the field', async () => {
    const half = (extra: number[]) => {
      const bytes: number[] = [];
      for (let i = 0; i < 32 * 32 - 1; i++) bytes.push(0x80 | (i & 0x7f), 0x01); // 2-byte varints
      bytes.push(...extra);
      return gatherModel(tensor('table', ONNX_TYPE.FLOAT16, [32, 32], len(5, Uint8Array.from(bytes))));
    };
    await refused('half-short.onnx', half([]), /initializer "table": expected 1024 values in int32_data, found 1023/);
    await refused('half-cut.onnx', half([0x80]), /truncated: initializer "table": int32_data ends inside a varint/);
  });

  it('graphs nested 200,000 deep in node attributes: refused at 100 levels of messages, before protobufjs recurses', async () => {
    // Graph -> node -> attribute (g) -> graph ... built from the inside out; lengths computed first.
    const depth = 200_000;
    const lengths = new Array<number>(depth + 1);
    // Innermost graph: a name only.
    lengths[depth] = str(2, 'x').length;
    const sizes = (n: number) => varint(n).length;
    for (let d = depth - 1; d >= 0; d--) {
      const g = 1 + sizes(lengths[d + 1]!) + lengths[d + 1]!; // attribute.g = field 6
      const attribute = g;
      const nodeBody = 1 + sizes(attribute) + attribute; // node.attribute = field 5
      lengths[d] = 1 + sizes(nodeBody) + nodeBody; // graph.node = field 1
    }
    const out = new Uint8Array(2 + sizes(lengths[0]!) + lengths[0]! + 2);
    let at = 0;
    const put = (bytes: Uint8Array) => {
      out.set(bytes, at);
      at += bytes.length;
    };
    put(num(1, 7));
    put(concat(key(7, 2), varint(lengths[0]!)));
    for (let d = 0; d < depth; d++) {
      const attribute = 1 + sizes(lengths[d + 1]!) + lengths[d + 1]!;
      const nodeBody = 1 + sizes(attribute) + attribute;
      put(concat(key(1, 2), varint(nodeBody), key(5, 2), varint(attribute), key(6, 2), varint(lengths[d + 1]!)));
    }
    put(str(2, 'x'));
    await refused(
      'deep.onnx',
      out.subarray(0, at),
      /not an ONNX model, or damaged: GraphProto at byte \d+ is nested 101 messages deep; expected at most 100\./,
    );
  });
});
