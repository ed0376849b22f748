import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, type Embedding } from '@embedding-layer/core';
import { strToU8, zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, encodeSafetensors } from '../src/formats.js';
import { loadEmbedding, type ModelFormat, saveEmbedding } from '../src/index.js';
import { smallLayer } from './fuzz/bases.js';
import { makeTempDir } from './tmp.js';

/*
 * The bad-model-files corpus: for each format, files truncated at every section boundary, with
 * a wrong magic, a header claiming a huge shape, a dtype mismatch, no Embedding, and (.keras)
 * zip bombs. Every one must fail with BadFileError (code BAD_FILE) whose message names the file,
 * write nothing, and leave a layer answering the seed example exactly as before. The counts per
 * category and format are checked against bad-files-corpus.json (IO_UPDATE_CORPUS=1 rewrites it).
 */

const { onnx } = onnxProto;
type Category = 'truncated' | 'wrong-magic' | 'huge-shape' | 'dtype-mismatch' | 'no-embedding' | 'zip-bomb';
interface BadCase {
  format: ModelFormat;
  category: Category;
  name: string;
  /** Files of the case, by name; the first is the one read. */
  files: Record<string, Uint8Array>;
  /** The message must say this (what was wrong). */
  says?: RegExp;
  /** Protobuf cannot tell a message cut at a top-level field boundary from a shorter one: such a cut may load, if it loads the same layer. */
  mayLoadSameTable?: boolean;
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
const good: Partial<Record<ModelFormat, Record<string, Uint8Array>>> = {};
const SEED_INDICES = [
  [0, 1, 2],
  [5, 4, 3],
];
const FORMATS: { format: ModelFormat; file: string }[] = [
  { format: 'keras-h5', file: 'm.h5' },
  { format: 'keras', file: 'm.keras' },
  { format: 'tfjs', file: 'model.json' },
  { format: 'onnx', file: 'm.onnx' },
  { format: 'npy', file: 'm.npy' },
  { format: 'safetensors', file: 'm.safetensors' },
];

beforeAll(async () => {
  tmp = await makeTempDir('io-bad-');
  await h5wasm.ready;
  for (const { format, file } of FORMATS) {
    const dir = join(tmp.dir, `good-${format}`);
    await mkdir(dir);
    await saveEmbedding(join(dir, file), smallLayer(6, 4), { shardBytes: 40 });
    const files: Record<string, Uint8Array> = { [file]: new Uint8Array(await readFile(join(dir, file))) };
    for (const f of await readdir(dir)) if (f !== file) files[f] = new Uint8Array(await readFile(join(dir, f)));
    good[format] = files;
  }
});
afterAll(() => tmp.cleanup());

const main = (f: Record<string, Uint8Array>) => Object.entries(f)[0]!;
const cut = (b: Uint8Array, n: number) => b.slice(0, n);
const u64 = (n: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
};
const find = (hay: Uint8Array, needle: Uint8Array, from = 0) => {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};
const sorted = (xs: number[], max: number) => [...new Set(xs)].filter((x) => x >= 0 && x < max).sort((a, b) => a - b);

/** Top-level and nested protobuf field boundaries (offsets where a field starts or ends). */
function protobufBoundaries(b: Uint8Array, start = 0, end = b.length, depth = 0, out: number[] = []): number[] {
  let p = start;
  const varint = () => {
    let v = 0;
    let s = 1;
    for (;;) {
      if (p >= end) throw new Error('eof');
      const x = b[p++]!;
      v += (x & 0x7f) * s;
      s *= 128;
      if (x < 0x80) return v;
    }
  };
  try {
    while (p < end) {
      out.push(p);
      const tag = varint();
      const wire = tag & 7;
      if (wire === 0) varint();
      else if (wire === 1) p += 8;
      else if (wire === 5) p += 4;
      else if (wire === 2) {
        const len = varint();
        out.push(p); // after the length field
        if (depth < 4 && len > 1) protobufBoundaries(b, p, p + len, depth + 1, out);
        p += len;
      } else break;
      out.push(p);
    }
  } catch {
    // not a message: fine, its bytes are data
  }
  return out;
}

/** Zip record boundaries: each local header, its name, its data, the central directory entries and the end record. */
function zipBoundaries(b: Uint8Array): number[] {
  const out: number[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 4 <= b.length; i++) {
    const sig = v.getUint32(i, true);
    if (sig === 0x04034b50 && i + 30 <= b.length) {
      const nameLen = v.getUint16(i + 26, true);
      const extra = v.getUint16(i + 28, true);
      const size = v.getUint32(i + 18, true);
      out.push(i, i + 4, i + 18, i + 26, i + 30, i + 30 + nameLen, i + 30 + nameLen + extra, i + 30 + nameLen + extra + (size >> 1));
    } else if (sig === 0x02014b50) out.push(i, i + 46);
    else if (sig === 0x06054b50) out.push(i, i + 12, i + 16, i + 20);
  }
  return out;
}

/** HDF5 boundaries: the superblock's fields, every object header / heap signature, the dataset's data start, middle and end. */
function h5Boundaries(b: Uint8Array, weights: Float32Array): number[] {
  const out = [0, 4, 8, 9, 12, 16, 24, 32, 40, 48, 56, 64, 80, 96];
  for (const sig of ['OHDR', 'OCHK', 'HEAP', 'GCOL', 'TREE', 'SNOD', 'BTHD', 'BTLF', 'FRHP', 'FHDB']) {
    const needle = strToU8(sig);
    for (let at = find(b, needle); at >= 0; at = find(b, needle, at + 1)) out.push(at, at + 4, at + 16);
  }
  const data = find(b, new Uint8Array(weights.buffer, weights.byteOffset, 16));
  if (data >= 0) out.push(data, data + 4, data + weights.byteLength / 2, data + weights.byteLength - 1);
  out.push(b.length - 1);
  return out;
}

function h5File(fill: (f: import('h5wasm').File) => void): Uint8Array {
  const path = join(tmp.dir, `h5-${Math.random().toString(36).slice(2)}.h5`);
  const f = new h5wasm.File(path, 'w');
  fill(f);
  f.close();
  const bytes = new Uint8Array(readFileSync(path));
  return bytes;
}

function kerasZip(config: unknown, weightsH5: Uint8Array): Uint8Array {
  return zipSync({ 'config.json': strToU8(JSON.stringify(config)), 'model.weights.h5': weightsH5 }, { level: 0 });
}

const SEQ = (layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 'sequential', layers } });
const DENSE = { class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'linear', use_bias: false } };

function buildCorpus(): BadCase[] {
  const cases: BadCase[] = [];
  const layer = smallLayer(6, 4);
  const add = (c: BadCase) => cases.push(c);
  const truncations = (format: ModelFormat, files: Record<string, Uint8Array>, at: number[], target?: string, mayLoad = false) => {
    const [name, bytes] = target ? [target, files[target]!] : main(files);
    for (const n of sorted(at, bytes.length))
      add({
        format,
        category: 'truncated',
        name: `${name} cut at ${n} of ${bytes.length}`,
        files: { ...files, [name]: cut(bytes, n) },
        mayLoadSameTable: mayLoad,
      });
  };

  // .npy
  {
    const f = good.npy!;
    const [name, b] = main(f);
    const headerEnd = b.indexOf(0x0a) + 1;
    truncations('npy', f, [
      0,
      3,
      6,
      7,
      8,
      9,
      10,
      11,
      30,
      headerEnd - 1,
      headerEnd,
      ...Array.from({ length: 6 }, (_, r) => headerEnd + r * 16 + 8),
      b.length - 1,
    ]);
    add({
      format: 'npy',
      category: 'wrong-magic',
      name: 'magic \\x93NUMPZ',
      files: { [name]: Uint8Array.from([...b.subarray(0, 5), 0x5a, ...b.subarray(6)]) },
      says: /magic/,
    });
    add({
      format: 'npy',
      category: 'wrong-magic',
      name: 'an .h5 file named .npy',
      files: { [name]: good['keras-h5']!['m.h5']! },
      says: /magic/,
    });
    const npyWith = (header: string) => {
      const bytes = encodeNpy(layer.weights, 6, 4);
      const text = new TextDecoder('latin1').decode(bytes.subarray(10, b.indexOf(0x0a) + 1));
      const replaced = header.padEnd(text.length - 1, ' ');
      const out = bytes.slice();
      for (let i = 0; i < replaced.length; i++) out[10 + i] = replaced.charCodeAt(i);
      return out;
    };
    for (const shape of ['(1000000000000, 1000000000000)', '(4294967296, 4294967296)', '(9007199254740993, 4)', '(6, 100000000)'])
      add({
        format: 'npy',
        category: 'huge-shape',
        name: `shape ${shape}`,
        files: { [name]: npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`) },
        says: /needs|shape|matrix/,
      });
    for (const descr of ['<i4', '|u1', '<c8', '|b1', '<f16', 'O'])
      add({
        format: 'npy',
        category: 'dtype-mismatch',
        name: `descr ${descr}`,
        files: { [name]: npyWith(`{'descr': '${descr}', 'fortran_order': False, 'shape': (6, 4), }`) },
        says: /dtype/,
      });
    for (const shape of ['(24,)', '(2, 3, 4)', '()'])
      add({
        format: 'npy',
        category: 'no-embedding',
        name: `shape ${shape}`,
        files: { [name]: npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`) },
        says: /2-D/,
      });
  }

  // safetensors
  {
    const f = good.safetensors!;
    const [name, b] = main(f);
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    const json = b.subarray(8, 8 + n);
    const keyEnds = [...new TextDecoder().decode(json)].flatMap((ch, i) => (',:{}[]'.includes(ch) ? [8 + i, 8 + i + 1] : []));
    truncations('safetensors', f, [
      0,
      4,
      7,
      8,
      9,
      ...keyEnds,
      8 + n - 1,
      8 + n,
      ...Array.from({ length: 6 }, (_, r) => 8 + n + r * 16 + 8),
      b.length - 1,
    ]);
    add({
      format: 'safetensors',
      category: 'wrong-magic',
      name: 'header length 2^63',
      files: { [name]: Uint8Array.from([...u64(2n ** 63n), ...b.subarray(8)]) },
      says: /header size/,
    });
    add({
      format: 'safetensors',
      category: 'wrong-magic',
      name: 'header not JSON',
      files: { [name]: Uint8Array.from([...b.subarray(0, 8), 0x5b, ...b.subarray(9)]) },
      says: /JSON/,
    });
    const st = (tensors: Record<string, unknown>, body = new Uint8Array(96)) => {
      const h = strToU8(JSON.stringify(tensors));
      return Uint8Array.from([...u64(BigInt(h.length)), ...h, ...body]);
    };
    add({
      format: 'safetensors',
      category: 'huge-shape',
      name: 'shape [1e12, 1e12] with matching offsets',
      files: { [name]: st({ w: { dtype: 'F32', shape: [1e12, 1e12], data_offsets: [0, 4e24] } }) },
      says: /bytes/,
    });
    add({
      format: 'safetensors',
      category: 'huge-shape',
      name: 'shape [2^31, 2^31] offsets past the end',
      files: { [name]: st({ w: { dtype: 'F32', shape: [2 ** 31, 2 ** 31], data_offsets: [0, 2 ** 64] } }) },
    });
    add({
      format: 'safetensors',
      category: 'huge-shape',
      name: 'shape [6, 4] end 2^40',
      files: { [name]: st({ w: { dtype: 'F32', shape: [6, 4], data_offsets: [2 ** 40 - 96, 2 ** 40] } }) },
      says: /truncated|bytes/,
    });
    for (const dtype of ['I32', 'U8', 'I64', 'BOOL', 'F8_E4M3'])
      add({
        format: 'safetensors',
        category: 'dtype-mismatch',
        name: `dtype ${dtype}`,
        files: { [name]: encodeSafetensorsAs(layer.weights, dtype) },
        says: /no Embedding matrix|dtype/,
      });
    add({
      format: 'safetensors',
      category: 'dtype-mismatch',
      name: 'dtype Q4 (unknown)',
      files: { [name]: st({ w: { dtype: 'Q4', shape: [6, 4], data_offsets: [0, 96] } }) },
      says: /unknown dtype/,
    });
    add({
      format: 'safetensors',
      category: 'no-embedding',
      name: 'only a 1-D tensor',
      files: { [name]: encodeSafetensors([{ name: 'bias', data: new Float32Array(24), shape: [24] }]) },
      says: /no Embedding matrix/,
    });
    add({
      format: 'safetensors',
      category: 'no-embedding',
      name: 'no tensors',
      files: { [name]: st({ __metadata__: { format: 'pt' } }, new Uint8Array(0)) },
      says: /no Embedding matrix/,
    });
  }

  // ONNX
  {
    const f = good.onnx!;
    const [name, b] = main(f);
    truncations('onnx', f, protobufBoundaries(b), undefined, true);
    add({ format: 'onnx', category: 'wrong-magic', name: 'a .npy named .onnx', files: { [name]: good.npy!['m.npy']! } });
    add({ format: 'onnx', category: 'wrong-magic', name: 'JSON named .onnx', files: { [name]: strToU8('{"not": "onnx"}') } });
    const model = onnx.ModelProto.decode(b);
    const mutateModel = (fn: (m: onnxProto.onnx.ModelProto) => void) => {
      const m = onnx.ModelProto.decode(b);
      fn(m);
      return onnx.ModelProto.encode(m).finish();
    };
    const init = model.graph!.initializer![0]!.name!;
    for (const dims of [
      [1e12, 1e12],
      [2 ** 31, 2 ** 31],
      [6, 2 ** 40],
      [2 ** 53, 4],
    ])
      add({
        format: 'onnx',
        category: 'huge-shape',
        name: `initializer dims ${JSON.stringify(dims)}`,
        files: { [name]: mutateModel((m) => (m.graph!.initializer![0]!.dims = dims)) },
        says: /raw_data|bytes|shape|valid/,
      });
    add({
      format: 'onnx',
      category: 'huge-shape',
      name: 'external data claiming 2^40 bytes',
      files: {
        [name]: mutateModel((m) => {
          const t = m.graph!.initializer![0]!;
          t.dims = [2 ** 20, 2 ** 18];
          t.rawData = new Uint8Array(0);
          t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
          t.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: 'm.onnx' })];
        }),
      },
      says: /truncated|bytes/,
    });
    for (const type of [onnx.TensorProto.DataType.INT32, onnx.TensorProto.DataType.INT8, onnx.TensorProto.DataType.STRING])
      add({
        format: 'onnx',
        category: 'dtype-mismatch',
        name: `initializer type ${type}`,
        files: { [name]: mutateModel((m) => (m.graph!.initializer![0]!.dataType = type)) },
        says: /no Embedding/,
      });
    add({
      format: 'onnx',
      category: 'dtype-mismatch',
      name: 'raw_data of float64 size for a float32 table',
      files: { [name]: mutateModel((m) => (m.graph!.initializer![0]!.rawData = new Uint8Array(192))) },
      says: /raw_data/,
    });
    add({
      format: 'onnx',
      category: 'no-embedding',
      name: 'Gather replaced by Identity',
      files: {
        [name]: mutateModel(
          (m) => (m.graph!.node = m.graph!.node!.map((n) => ({ ...n, opType: n.opType === 'Gather' ? 'Identity' : n.opType }))),
        ),
      },
      says: /no Embedding/,
    });
    add({
      format: 'onnx',
      category: 'no-embedding',
      name: 'no initializer',
      files: { [name]: mutateModel((m) => (m.graph!.initializer = [])) },
      says: /no Embedding/,
    });
    add({
      format: 'onnx',
      category: 'no-embedding',
      name: `Gather on axis 1 of ${init}`,
      files: {
        [name]: mutateModel((m) => {
          for (const n of m.graph!.node!)
            if (n.opType === 'Gather')
              n.attribute = [onnx.AttributeProto.create({ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT })];
        }),
      },
      says: /no Embedding/,
    });
  }

  // TF.js: model.json and its shards
  {
    const f = good.tfjs!;
    const [name, b] = main(f);
    const text = new TextDecoder().decode(b);
    truncations('tfjs', f, [0, 1, ...[...text].flatMap((ch, i) => ('{[,:'.includes(ch) && i % 3 === 0 ? [i + 1] : [])), b.length - 1]);
    for (const shard of Object.keys(f).filter((k) => k.endsWith('.bin'))) {
      truncations('tfjs', f, [0, 1, 4, f[shard]!.length >> 1, f[shard]!.length - 1], shard);
      const { [shard]: _gone, ...rest } = f;
      add({ format: 'tfjs', category: 'truncated', name: `${shard} missing`, files: rest, says: /cannot read|truncated/ });
    }
    const json = JSON.parse(text);
    const withJson = (fn: (j: typeof json) => void) => {
      const j = structuredClone(json);
      fn(j);
      return { ...f, [name]: strToU8(JSON.stringify(j)) };
    };
    add({
      format: 'tfjs',
      category: 'wrong-magic',
      name: 'binary named model.json',
      files: { ...f, [name]: f[Object.keys(f)[1]!]! },
      says: /JSON/,
    });
    add({
      format: 'tfjs',
      category: 'wrong-magic',
      name: 'a JSON array',
      files: { ...f, [name]: strToU8('[1, 2, 3]') },
      says: /layers model/,
    });
    for (const shape of [
      [1e12, 1e12],
      [2 ** 31, 2 ** 31],
      [6, 2 ** 40],
      [2 ** 53, 4],
    ])
      add({
        format: 'tfjs',
        category: 'huge-shape',
        name: `manifest shape ${JSON.stringify(shape)}`,
        files: withJson((j) => (j.weightsManifest[0].weights[0].shape = shape)),
        says: /truncated weights|too large|shape/,
      });
    add({
      format: 'tfjs',
      category: 'huge-shape',
      name: 'a weight before the embedding claims 2^40 bytes',
      files: withJson((j) => j.weightsManifest[0].weights.unshift({ name: 'big', shape: [2 ** 20, 2 ** 20], dtype: 'float32' })),
      says: /truncated weights/,
    });
    for (const dtype of ['int32', 'bool', 'string', 'complex64'])
      add({
        format: 'tfjs',
        category: 'dtype-mismatch',
        name: `dtype ${dtype}`,
        files: withJson((j) => (j.weightsManifest[0].weights[0].dtype = dtype)),
        says: /dtype/,
      });
    add({
      format: 'tfjs',
      category: 'dtype-mismatch',
      name: 'quantization int4',
      files: withJson((j) => (j.weightsManifest[0].weights[0].quantization = { dtype: 'int4', scale: 1, min: 0 })),
      says: /quantization|dtype/,
    });
    add({
      format: 'tfjs',
      category: 'no-embedding',
      name: 'only a Dense layer',
      files: withJson((j) => (j.modelTopology.model_config = SEQ([DENSE]))),
      says: /no Embedding/,
    });
    add({
      format: 'tfjs',
      category: 'no-embedding',
      name: 'embedding weight missing from the manifest',
      files: withJson((j) => (j.weightsManifest[0].weights[0].name = 'other/kernel')),
      says: /no weight/,
    });
  }

  // Keras 2 .h5
  {
    const f = good['keras-h5']!;
    const [name, b] = main(f);
    truncations('keras-h5', f, h5Boundaries(b, layer.weights));
    add({
      format: 'keras-h5',
      category: 'wrong-magic',
      name: 'signature \\x89HDG',
      files: { [name]: Uint8Array.from([0x89, 0x48, 0x44, 0x47, ...b.subarray(4)]) },
      says: /signature/,
    });
    add({
      format: 'keras-h5',
      category: 'wrong-magic',
      name: 'a zip named .h5',
      files: { [name]: good.keras!['m.keras']! },
      says: /signature/,
    });
    // The dataspace message holds the dims as 8-byte integers (6, 4): overwrite them.
    const dims = Uint8Array.from([...u64(6n), ...u64(4n)]);
    const at = find(b, dims);
    for (const [r, c] of [
      [2n ** 40n, 2n ** 40n],
      [6n, 2n ** 50n],
      [2n ** 32n, 4n],
    ]) {
      const out = b.slice();
      out.set([...u64(r!), ...u64(c!)], at);
      add({
        format: 'keras-h5',
        category: 'huge-shape',
        name: `dataspace dims [${r}, ${c}]`,
        files: { [name]: out },
        says: /more than the|could not|HDF5|shape/,
      });
    }
    const cfg = JSON.stringify(SEQ([{ class_name: 'Embedding', config: { name: 'emb', input_dim: 6, output_dim: 4 } }]));
    for (const [dtype, data] of [
      ['<i', Int32Array.from(layer.weights)],
      ['<b', new Int8Array(24)],
      ['<q', new BigInt64Array(24)],
    ] as const)
      add({
        format: 'keras-h5',
        category: 'dtype-mismatch',
        name: `embeddings:0 of ${dtype}`,
        files: {
          [name]: h5File((h) => {
            h.create_attribute('model_config', cfg);
            h.create_group('model_weights')
              .create_group('emb')
              .create_group('emb')
              .create_dataset({ name: 'embeddings:0', data, shape: [6, 4], dtype });
          }),
        },
        says: /expected float16, float32 or float64/,
      });
    add({
      format: 'keras-h5',
      category: 'no-embedding',
      name: 'model_config with only Dense',
      files: {
        [name]: h5File((h) => {
          h.create_attribute('model_config', JSON.stringify(SEQ([DENSE])));
          h.create_group('model_weights');
        }),
      },
      says: /no Embedding/,
    });
    add({
      format: 'keras-h5',
      category: 'no-embedding',
      name: 'weights-only file without embeddings:0',
      files: {
        [name]: h5File((h) =>
          h
            .create_group('dense')
            .create_group('dense')
            .create_dataset({ name: 'kernel:0', data: new Float32Array(24), shape: [6, 4], dtype: '<f' }),
        ),
      },
      says: /no Embedding/,
    });
    add({
      format: 'keras-h5',
      category: 'no-embedding',
      name: 'config lists an Embedding with no dataset',
      files: {
        [name]: h5File((h) => {
          h.create_attribute('model_config', cfg);
          h.create_group('model_weights');
        }),
      },
      says: /no dataset/,
    });
  }

  // Keras 3 .keras
  {
    const f = good.keras!;
    const [name, b] = main(f);
    truncations('keras', f, zipBoundaries(b));
    add({ format: 'keras', category: 'wrong-magic', name: 'PK\\x05\\x06 (empty zip)', files: { [name]: zipSync({}) }, says: /zip/ });
    add({
      format: 'keras',
      category: 'wrong-magic',
      name: 'an .h5 file named .keras',
      files: { [name]: good['keras-h5']!['m.h5']! },
      says: /zip/,
    });
    const h5 = (fill: (vars: import('h5wasm').Group) => void) =>
      h5File((h) => {
        const vars = h.create_group('layers').create_group('embedding').create_group('vars');
        vars.create_attribute('name', 'emb');
        fill(vars);
      });
    const k3 = (extra: Record<string, unknown> = {}) =>
      SEQ([
        {
          module: 'keras.layers',
          class_name: 'Embedding',
          config: { name: 'emb', input_dim: 6, output_dim: 4, ...extra },
          registered_name: null,
        },
      ]);
    const goodH5 = h5((v) => v.create_dataset({ name: '0', data: layer.weights, shape: [6, 4], dtype: '<f' }));
    const dims = Uint8Array.from([...u64(6n), ...u64(4n)]);
    for (const [r, c] of [
      [2n ** 40n, 2n ** 40n],
      [6n, 2n ** 50n],
    ]) {
      const out = goodH5.slice();
      out.set([...u64(r!), ...u64(c!)], find(goodH5, dims));
      add({
        format: 'keras',
        category: 'huge-shape',
        name: `vars/0 dims [${r}, ${c}]`,
        files: { [name]: kerasZip(k3(), out) },
        says: /more than the|could not|HDF5|shape/,
      });
    }
    add({
      format: 'keras',
      category: 'dtype-mismatch',
      name: 'vars/0 of int32',
      files: {
        [name]: kerasZip(
          k3(),
          h5((v) => v.create_dataset({ name: '0', data: new Int32Array(24), shape: [6, 4], dtype: '<i' })),
        ),
      },
      says: /expected float16/,
    });
    add({
      format: 'keras',
      category: 'dtype-mismatch',
      name: 'int8 vars/0 without its scale',
      files: {
        [name]: kerasZip(
          k3(),
          h5((v) => v.create_dataset({ name: '0', data: new Int8Array(24), shape: [6, 4], dtype: '<b' })),
        ),
      },
      says: /embeddings_scale/,
    });
    add({
      format: 'keras',
      category: 'dtype-mismatch',
      name: 'int8 policy with a float32 vars/0',
      files: {
        [name]: kerasZip(
          k3({
            dtype: { module: 'keras', class_name: 'QuantizedDTypePolicy', config: { name: 'int8_from_float32', source_name: 'float32' } },
          }),
          goodH5,
        ),
      },
      says: /int8/,
    });
    add({
      format: 'keras',
      category: 'dtype-mismatch',
      name: 'int4 policy',
      files: { [name]: kerasZip(k3({ dtype: 'int4_from_float32' }), goodH5) },
      says: /int4/,
    });
    add({
      format: 'keras',
      category: 'no-embedding',
      name: 'config with only Dense',
      files: { [name]: kerasZip(SEQ([DENSE]), goodH5) },
      says: /no Embedding/,
    });
    add({
      format: 'keras',
      category: 'no-embedding',
      name: 'no model.weights.h5',
      files: { [name]: zipSync({ 'config.json': strToU8(JSON.stringify(k3())) }) },
      says: /model.weights.h5/,
    });
    // Zip bombs: declared sizes over the limits are refused before inflating; a deflated entry
    // with a huge ratio is refused; an entry that inflates past its declared size is cut there.
    const bigZeros = new Uint8Array(80 * 1024 * 1024);
    add({
      format: 'keras',
      category: 'zip-bomb',
      name: 'config.json deflating to 80 MiB',
      files: { [name]: zipSync({ 'config.json': [bigZeros, { level: 9 }], 'model.weights.h5': goodH5 }) },
      says: /zip bomb/,
    });
    add({
      format: 'keras',
      category: 'zip-bomb',
      name: 'model.weights.h5 deflating 1000:1',
      files: {
        [name]: zipSync({
          'config.json': strToU8(JSON.stringify(k3())),
          'model.weights.h5': [bigZeros.subarray(0, 20 * 1024 * 1024), { level: 9 }],
        }),
      },
      says: /zip bomb/,
    });
    const declared = (entry: string, size: number) => {
      const z = zipSync({ 'config.json': strToU8(JSON.stringify(k3())), 'model.weights.h5': goodH5 }, { level: 0 });
      const v = new DataView(z.buffer);
      for (let i = 0; i + 4 <= z.length; i++) {
        const sig = v.getUint32(i, true);
        const nameAt = sig === 0x04034b50 ? i + 30 : sig === 0x02014b50 ? i + 46 : -1;
        if (nameAt < 0 || new TextDecoder().decode(z.subarray(nameAt, nameAt + entry.length)) !== entry) continue;
        v.setUint32(sig === 0x04034b50 ? i + 22 : i + 24, size, true); // uncompressed size
      }
      return z;
    };
    add({
      format: 'keras',
      category: 'zip-bomb',
      name: 'model.weights.h5 declaring 4 GiB - 1 uncompressed (stored)',
      files: { [name]: declared('model.weights.h5', 0xffffffff) },
      says: /declares/,
    });
    add({
      format: 'keras',
      category: 'zip-bomb',
      name: 'config.json declaring 3 GiB uncompressed',
      files: { [name]: declared('config.json', 3 * 2 ** 30) },
      says: /declares/,
    });
    const lying = zipSync({ 'config.json': [new Uint8Array(8 * 1024 * 1024).fill(0x20), { level: 9 }], 'model.weights.h5': goodH5 });
    {
      const v = new DataView(lying.buffer);
      for (let i = 0; i + 4 <= lying.length; i++) {
        const sig = v.getUint32(i, true);
        if (sig === 0x04034b50 && new TextDecoder().decode(lying.subarray(i + 30, i + 41)) === 'config.json')
          v.setUint32(i + 22, 100, true);
        if (sig === 0x02014b50 && new TextDecoder().decode(lying.subarray(i + 46, i + 57)) === 'config.json')
          v.setUint32(i + 24, 100, true);
      }
    }
    add({
      format: 'keras',
      category: 'zip-bomb',
      name: 'config.json declaring 100 bytes that inflates to 8 MiB',
      files: { [name]: lying },
    });
  }
  return cases;
}

function encodeSafetensorsAs(weights: Float32Array, dtype: string): Uint8Array {
  const bytes = encodeSafetensors([{ name: 'emb.weight', data: weights, shape: [6, 4] }]);
  const text = new TextDecoder('latin1').decode(bytes);
  const size = { I32: 4, U8: 1, I64: 8, BOOL: 1, F8_E4M3: 1 }[dtype]!;
  const h = strToU8(JSON.stringify({ 'emb.weight': { dtype, shape: [6, 4], data_offsets: [0, 24 * size] } }));
  void text;
  return Uint8Array.from([...u64(BigInt(h.length)), ...h, ...new Uint8Array(24 * size)]);
}

async function tempLeftovers(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((f) => f.startsWith(`embedding-layer-${process.pid}-`));
}

describe('bad model files corpus', () => {
  it('every bad file gets BadFileError naming the file, writes nothing, and leaves layers answering as before', async () => {
    const cases = buildCorpus();
    const backend = createJsBackend();
    const goodPath = join(tmp.dir, 'good-keras-h5', 'm.h5');
    const layer: Embedding = await loadEmbedding(goodPath, { backend });
    const seed = await layer.predict(SEED_INDICES);
    const seedValues = Array.from(seed.data as Float32Array);
    const counts: Record<string, Record<string, number>> = {};
    const problems: string[] = [];
    let loadedSame = 0;
    for (const [i, c] of cases.entries()) {
      counts[c.format] ??= {};
      counts[c.format]![c.category] = (counts[c.format]![c.category] ?? 0) + 1;
      const dir = join(tmp.dir, `case-${i}`);
      await mkdir(dir);
      for (const [n, bytes] of Object.entries(c.files)) await writeFile(join(dir, n), bytes);
      const path = join(dir, main(c.files)[0]);
      const before = (await readdir(dir)).sort();
      const label = `${c.format} / ${c.category} / ${c.name}`;
      try {
        const loaded = await loadEmbedding(path, { backend: createJsBackend(), format: c.format });
        const same = (await loaded.getWeights())[0]!.every((v, k) => v === smallLayer(6, 4).weights[k]);
        if (c.mayLoadSameTable && same && loaded.config.inputDim === 6) loadedSame++;
        else problems.push(`${label}: loaded instead of failing`);
      } catch (error) {
        if (!(error instanceof BadFileError) || error.code !== 'BAD_FILE')
          problems.push(`${label}: ${(error as Error)?.stack ?? String(error)}`);
        else if (!error.message.startsWith(path)) problems.push(`${label}: the message does not start with the file: ${error.message}`);
        else if (c.says && !c.says.test(error.message)) problems.push(`${label}: the message does not say ${c.says}: ${error.message}`);
      }
      if ((await readdir(dir)).sort().join() !== before.join()) problems.push(`${label}: files were written beside it`);
      await rm(dir, { recursive: true, force: true });
      if (i % 25 === 0 || i === cases.length - 1) {
        const again = await layer.predict(SEED_INDICES);
        if (Array.from(again.data as Float32Array).join() !== seedValues.join())
          problems.push(`after ${label}: the layer's answer changed`);
      }
    }
    // A good file loaded after all the bad ones answers the seed example exactly as before.
    const fresh = await loadEmbedding(goodPath, { backend: createJsBackend() });
    expect(Array.from((await fresh.predict(SEED_INDICES)).data as Float32Array)).toEqual(seedValues);
    expect(await tempLeftovers()).toEqual([]);
    expect(problems, problems.join('\n')).toEqual([]);

    const table = Object.fromEntries(FORMATS.map(({ format }) => [format, counts[format] ?? {}]));
    const total = cases.length;
    console.log(`[io bad files] ${total} files (${loadedSame} ONNX cuts at a top-level field boundary loaded the same table):`);
    console.table(table);
    const corpusFile = join(dirname(new URL(import.meta.url).pathname), 'bad-files-corpus.json');
    const summary = { total, perFormat: table, onnxCutsThatLoadTheSameTable: loadedSame };
    if (process.env.IO_UPDATE_CORPUS === '1' || !existsSync(corpusFile))
      await writeFile(corpusFile, `${JSON.stringify(summary, null, 2)}\n`);
    else expect(summary).toEqual(JSON.parse(readFileSync(corpusFile, 'utf8')));
  }, 240_000);
});

describe('files the fuzzer found', () => {
  it('keras-h5-hdf5-loop.h5 (fuzz case 114, seed 20261130: a bit flip and 6 inserted bytes) loops h5wasm; it fails with BadFileError at the time limit and the worker is replaced', async () => {
    const { h5WorkerLimits } = await import('../src/util/h5-worker.js');
    const path = join(dirname(new URL(import.meta.url).pathname), 'fixtures/fuzz-found/keras-h5-hdf5-loop.h5');
    const goodPath = join(tmp.dir, 'good-keras-h5', 'm.h5');
    const layer = await loadEmbedding(goodPath, { backend: createJsBackend() });
    const seed = Array.from((await layer.predict(SEED_INDICES)).data as Float32Array);
    h5WorkerLimits.cpuMs = 2000;
    try {
      const error = await loadEmbedding(path, { backend: createJsBackend() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadFileError);
      expect((error as BadFileError).code).toBe('BAD_FILE');
      expect((error as Error).message).toMatch(new RegExp(`^${path}: HDF5 (open|scan) did not finish within 2 s of CPU time`));
    } finally {
      h5WorkerLimits.cpuMs = 20_000;
    }
    expect(Array.from((await layer.predict(SEED_INDICES)).data as Float32Array)).toEqual(seed);
    const again = await loadEmbedding(goodPath, { backend: createJsBackend() });
    expect(Array.from((await again.predict(SEED_INDICES)).data as Float32Array)).toEqual(seed);
  });
});
