import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { describeShared, REAL, REAL_DIR, realPath, rowStart, sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

const { onnx } = onnxProto;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(() => tmp.cleanup());

async function tensorPb(file: string): Promise<onnxProto.onnx.TensorProto> {
  return onnx.TensorProto.decode(new Uint8Array(await readFile(join(REAL_DIR, 'onnx-pytorch-embedding/test_data_set_0', file))));
}

describeShared('real', 'ONNX: the real PyTorch export', () => {
  const fx = REAL.onnx;

  it('reads the PyTorch 0.3 export (initializer also listed as a graph input): all four rows', async () => {
    const record = await readEmbedding(realPath(fx));
    expect(record.format).toBe('onnx');
    expect(record.name).toBe('1');
    expect([record.inputDim, record.outputDim]).toEqual([4, 3]);
    for (let r = 0; r < 3; r++) expect(rowStart(record.weights, 3, r, 3)).toEqual(fx.rows[r]);
    expect(rowStart(record.weights, 3, 3, 3)).toEqual([0.5269832611083984, -0.2941163182258606, 0.13238807022571564]);
  });

  it('our layer loaded from it gives the reference output_0.pb for input_0.pb', async () => {
    const input = await tensorPb('input_0.pb');
    const output = await tensorPb('output_0.pb');
    const ids = Array.from(new BigInt64Array(input.rawData.slice().buffer), Number);
    expect(ids).toEqual([0, 1, 0, 1]);
    const layer = await loadEmbedding(realPath(fx), { backend: createJsBackend() });
    const ours = (await layer.predict([ids])).data as Float32Array;
    const expected = new Float32Array(output.rawData.slice().buffer);
    expect(output.dims.map(Number)).toEqual([1, 4, 3]);
    expect(sameBits(ours, expected)).toBe(true);
  });

  it('round-trips the real file through our writer; ONNX Runtime runs ours with the reference output', async () => {
    const record = await readEmbedding(realPath(fx));
    const path = join(tmp.dir, 'rt.onnx');
    await saveEmbedding(path, record, { onnxIndexType: 'int64' });
    const back = await readEmbedding(path);
    expect(back.name).toBe('1');
    expect(sameBits(back.weights, record.weights)).toBe(true);
    expect(resolveConfig(back.config)).toEqual(resolveConfig(record.config));
    const input = await tensorPb('input_0.pb');
    const output = await tensorPb('output_0.pb');
    const session = await ort.InferenceSession.create(path);
    const result = await session.run({ indices: new ort.Tensor('int64', new BigInt64Array(input.rawData.slice().buffer), [1, 4]) });
    expect(sameBits(result.output!.data as Float32Array, new Float32Array(output.rawData.slice().buffer))).toBe(true);
    await session.release();
  });

  it('a Keras .h5 embedding saved as .onnx: ORT output equals our layer, and the config survives', async () => {
    const record = await readEmbedding(realPath(REAL.conv1d));
    const path = join(tmp.dir, 'conv1d.onnx');
    await saveEmbedding(path, record);
    const back = await readEmbedding(path);
    expect(back.name).toBe('embedding_1');
    expect(resolveConfig(back.config)).toEqual(resolveConfig(record.config));
    const ids = [
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 199],
      [9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
    ];
    const session = await ort.InferenceSession.create(path);
    const result = await session.run({ indices: new ort.Tensor('int32', Int32Array.from(ids.flat()), [2, 10]) });
    const layer = await loadEmbedding(path, { backend: createJsBackend() });
    expect(sameBits(result.output!.data as Float32Array, (await layer.predict(ids)).data as Float32Array)).toBe(true);
    await session.release();
  });
});

describe('ONNX', () => {
  it('external data: written beside the model, read back, run by ORT', async () => {
    const weights = Float32Array.from({ length: 30 }, (_, i) => i * 0.25 - 3);
    const path = join(tmp.dir, 'ext.onnx');
    await saveEmbedding(path, { config: { inputDim: 10, outputDim: 3, name: 'ext' }, weights }, { onnxExternalData: true });
    expect((await stat(`${path}.data`)).size).toBe(120);
    const record = await readEmbedding(path);
    expect(record.location).toBe('initializer embeddings (external data)');
    expect(sameBits(record.weights, weights)).toBe(true);
    const session = await ort.InferenceSession.create(path);
    const result = await session.run({ indices: new ort.Tensor('int32', Int32Array.from([9, 0]), [1, 2]) });
    expect(Array.from(result.output!.data as Float32Array)).toEqual([...weights.subarray(27, 30), ...weights.subarray(0, 3)]);
    await session.release();
    await writeFile(`${path}.data`, new Uint8Array(100));
    await expect(readEmbeddings(path)).rejects.toThrow(/truncated/);
  });

  it('reads float16 initializers and float_data storage', async () => {
    const model = onnx.ModelProto.create({
      irVersion: 3,
      opsetImport: [{ domain: '', version: 6 }],
      graph: {
        name: 'g',
        node: [
          { opType: 'Gather', input: ['half', 'ids'], output: ['a'] },
          { opType: 'Gather', input: ['plain', 'ids'], output: ['b'], attribute: [{ name: 'axis', type: 2, i: 0 }] },
          { opType: 'Gather', input: ['rowvec', 'ids'], output: ['c'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
        ],
        initializer: [
          { name: 'half', dataType: 10, dims: [2, 2], rawData: new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x3555]).buffer) },
          { name: 'plain', dataType: 1, dims: [1, 3], floatData: [0.5, -0.25, 8] },
          { name: 'rowvec', dataType: 1, dims: [1, 3], floatData: [1, 2, 3] },
        ],
        input: [{ name: 'ids' }],
        output: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
      },
    });
    const path = join(tmp.dir, 'mixed.onnx');
    await writeFile(path, onnx.ModelProto.encode(model).finish());
    const records = await readEmbeddings(path);
    expect(records.map((r) => [r.name, r.storedDtype, Array.from(r.weights)])).toEqual([
      ['half', 'float16', [1, -2, 65504, 0.333251953125]],
      ['plain', 'float32', [0.5, -0.25, 8]],
    ]);
  });

  it('rejects bad files: truncated, not protobuf, no Gather over an initializer', async () => {
    const own = join(tmp.dir, 'own.onnx');
    await saveEmbedding(own, { config: { inputDim: 4, outputDim: 3, name: 'own' }, weights: new Float32Array(12).fill(0.5) });
    const bytes = new Uint8Array(await readFile(own));
    const noGather = onnx.ModelProto.encode(
      onnx.ModelProto.create({ irVersion: 7, graph: { node: [{ opType: 'Relu', input: ['x'], output: ['y'] }], input: [{ name: 'x' }] } }),
    ).finish();
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated.onnx', bytes.subarray(0, bytes.length >> 1), /truncated|no graph nodes|no Embedding|does not decode/],
      ['garbage.onnx', new TextEncoder().encode('\xff\xff\xff\xff hello this is not protobuf'), /not an ONNX model/],
      ['relu.onnx', noGather, /no Embedding/],
    ];
    for (const [name, content, message] of cases) {
      const path = join(tmp.dir, name);
      await writeFile(path, content);
      const error = await readEmbeddings(path).catch((e: unknown) => e);
      expect(BadFileError.isInstance(error), `${name}: ${String(error)}`).toBe(true);
      expect((error as Error).message, name).toMatch(message);
      expect((error as Error).message.startsWith(path)).toBe(true);
    }
  });
});
