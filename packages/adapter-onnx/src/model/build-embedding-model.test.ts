import { type EmbeddingConfig, EmbeddingError, resolveConfig } from '@embedding-layer/core';
import { initializeEmbeddings } from '@embedding-layer/core/backend';
import { buildEmbeddingModel, defaultInputShape, ONNX_IR_VERSION, ONNX_OPSET_VERSION } from '@embedding-layer/onnx-model';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadStrictly } from '../testing/helpers.js';
import { checkModel, decodeModel, graphOf } from '../testing/onnx-checker.js';

function layerOf(config: EmbeddingConfig) {
  const resolved = resolveConfig({ seed: 7, ...config });
  const weights = initializeEmbeddings(resolved.embeddingsInitializer, resolved.inputDim, resolved.outputDim, resolved.seed);
  return { config: resolved, weights };
}

/** Row copy, computed here without ONNX: the expected output of a lookup. */
function gatherRows(weights: Float32Array, ids: ArrayLike<number | bigint>, outputDim: number): Float32Array {
  const out = new Float32Array(ids.length * outputDim);
  for (let i = 0; i < ids.length; i++) {
    const row = Number(ids[i]);
    for (let c = 0; c < outputDim; c++) out[i * outputDim + c] = weights[row * outputDim + c]!;
  }
  return out;
}

function errorCode(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return EmbeddingError.isInstance(error) ? error.code : `not an EmbeddingError: ${String(error)}`;
  }
  return undefined;
}

describe('buildEmbeddingModel', () => {
  it('writes IR 7 / opset 13, a Gather on axis 0, the table as an initializer and the Keras config as metadata', () => {
    const { config, weights } = layerOf({ inputDim: 1000, outputDim: 64, inputLength: 10, name: 'seed_embedding' });
    const model = decodeModel(buildEmbeddingModel(config, weights));
    checkModel(model);
    expect(Number(model.irVersion)).toBe(ONNX_IR_VERSION);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', ONNX_OPSET_VERSION]]);
    const g = graphOf(model);
    expect(g.name).toBe('seed_embedding');
    expect(g.node.map((n) => n.opType)).toEqual(['Gather']);
    expect(g.node[0]!.input).toEqual(['embeddings', 'indices']);
    expect(Number(g.node[0]!.attribute![0]!.i)).toBe(0);
    const table = g.initializer[0]!;
    expect(table.name).toBe('embeddings');
    expect(table.dims!.map(Number)).toEqual([1000, 64]);
    expect(Buffer.from(table.rawData!).equals(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength))).toBe(true);
    const keras = JSON.parse(model.metadataProps.find((p) => p.key === 'keras_config')!.value!);
    expect(keras.class_name).toBe('Embedding');
    expect(keras.config).toMatchObject({ input_dim: 1000, output_dim: 64, input_length: 10, mask_zero: false });
  });

  it.each([
    [{ inputDim: 1000, outputDim: 64, inputLength: 10 }, ['batch', 10]],
    [{ inputDim: 5, outputDim: 3 }, ['batch', 'sequence']],
    [{ inputDim: 5, outputDim: 3, inputLength: [null, 4] }, ['batch', 'sequence_1', 4]],
    [{ inputDim: 5, outputDim: 3, inputLength: [2, 4] }, ['batch', 2, 4]],
  ] as const)('declares the input shape of %j as %j (symbolic batch, static input_length)', async (cfg, shape) => {
    const { config, weights } = layerOf(cfg as EmbeddingConfig);
    expect(defaultInputShape(config)).toEqual(shape);
    const session = await ort.InferenceSession.create(buildEmbeddingModel(config, weights));
    try {
      expect(session.inputMetadata).toEqual([{ name: 'indices', isTensor: true, type: 'int32', shape }]);
      expect(session.outputMetadata).toEqual([{ name: 'output', isTensor: true, type: 'float32', shape: [...shape, config.outputDim] }]);
    } finally {
      await session.release();
    }
  });

  for (const indexType of ['int32', 'int64'] as const) {
    it(`mask_zero adds mask = Not(Equal(indices, 0)) as a bool output (${indexType}); ONNX Runtime computes output and mask exactly`, async () => {
      const { config, weights } = layerOf({ inputDim: 6, outputDim: 4, maskZero: true });
      const bytes = buildEmbeddingModel(config, weights, { indexType });
      const model = decodeModel(bytes);
      const inferred = checkModel(model);
      expect(graphOf(model).node.map((n) => n.opType)).toEqual(['Gather', 'Equal', 'Not']);
      expect(inferred.get('mask')!.elem).toBe(9 /* BOOL */);
      const session = await ort.InferenceSession.create(bytes);
      try {
        expect(session.outputMetadata.map((m) => m.isTensor && [m.name, m.type])).toEqual([
          ['output', 'float32'],
          ['mask', 'bool'],
        ]);
        const ids = [0, 5, 1, 0, 3, 2];
        const data = indexType === 'int32' ? Int32Array.from(ids) : BigInt64Array.from(ids.map(BigInt));
        const result = await session.run({ indices: new ort.Tensor(indexType, data, [2, 3]) });
        expect(result.output!.dims).toEqual([2, 3, 4]);
        expect(result.output!.data).toEqual(gatherRows(weights, ids, 4));
        expect(Array.from(result.mask!.data as Uint8Array)).toEqual([0, 1, 1, 0, 1, 1]);
      } finally {
        await session.release();
      }
    });
  }

  it('passes the checker rules and the strict type/shape inference of ONNX Runtime for every variant', async () => {
    for (const cfg of [
      { inputDim: 3, outputDim: 2 },
      { inputDim: 3, outputDim: 2, maskZero: true, inputLength: 4 },
      { inputDim: 3, outputDim: 0, maskZero: true },
      { inputDim: 3, outputDim: 2, inputLength: [null, 2, 3] },
    ]) {
      const { config, weights } = layerOf(cfg);
      for (const indexType of ['int32', 'int64'] as const) {
        for (const options of [{}, { table: 'input', inputShape: ['n'] }] as const) {
          const bytes = buildEmbeddingModel(config, weights, { indexType, ...options });
          checkModel(decodeModel(bytes));
          await loadStrictly(bytes);
        }
        checkModel(decodeModel(buildEmbeddingModel(config, weights, { indexType, externalData: { location: 'x.data', threshold: 0 } })), {
          externalFiles: new Set(['x.data']),
        });
      }
    }
  });

  it('the strict load has teeth: a wrong declared output shape or mask type is rejected', async () => {
    const { config, weights } = layerOf({ inputDim: 5, outputDim: 3, maskZero: true, inputLength: 4 });
    const good = buildEmbeddingModel(config, weights);
    const wrongShape = decodeModel(good);
    graphOf(wrongShape).output[0]!.type!.tensorType!.shape!.dim![2]!.dimValue = 7;
    const wrongType = decodeModel(good);
    graphOf(wrongType).output[1]!.type!.tensorType!.elemType = onnxProto.onnx.TensorProto.DataType.INT32;
    for (const model of [wrongShape, wrongType]) {
      expect(() => checkModel(model)).toThrow(/declared/);
      await expect(loadStrictly(onnxProto.onnx.ModelProto.encode(model).finish())).rejects.toThrow(
        /ShapeInferenceError|TypeInferenceError|type/i,
      );
    }
  });

  it('with table: "input" the table is a graph input fed at run time (no initializer)', async () => {
    const { config, weights } = layerOf({ inputDim: 4, outputDim: 2 });
    const bytes = buildEmbeddingModel(config, weights, { table: 'input', inputShape: ['n'] });
    expect(graphOf(decodeModel(bytes)).initializer).toHaveLength(0);
    const session = await ort.InferenceSession.create(bytes);
    try {
      expect(session.inputNames).toEqual(['indices', 'embeddings']);
      const other = new Float32Array(8).map((_, i) => i + 0.5);
      const r = await session.run({
        indices: new ort.Tensor('int32', Int32Array.from([3, 0]), [2]),
        embeddings: new ort.Tensor('float32', other, [4, 2]),
      });
      expect(r.output!.data).toEqual(Float32Array.from([6.5, 7.5, 0.5, 1.5]));
    } finally {
      await session.release();
    }
  });

  it('a zero-size table (output_dim 0) is a valid model that ONNX Runtime loads and runs, also on an empty batch', async () => {
    const { config, weights } = layerOf({ inputDim: 3, outputDim: 0 });
    const session = await ort.InferenceSession.create(buildEmbeddingModel(config, weights));
    try {
      const r = await session.run({ indices: new ort.Tensor('int32', Int32Array.from([2, 1]), [1, 2]) });
      expect(r.output!.dims).toEqual([1, 2, 0]);
      expect(r.output!.data).toHaveLength(0);
      // An empty batch too (the backend answers both cases without a run anyway).
      const empty = await session.run({ indices: new ort.Tensor('int32', new Int32Array(0), [0, 2]) });
      expect(empty.output!.dims).toEqual([0, 2, 0]);
    } finally {
      await session.release();
    }
  });

  it('external data: the initializer points at the location (offset 0, length = table bytes) and holds no data', () => {
    const { config, weights } = layerOf({ inputDim: 10, outputDim: 3 });
    const bytes = buildEmbeddingModel(config, weights, { externalData: { location: 'table.bin', threshold: 0 } });
    const t = graphOf(decodeModel(bytes)).initializer[0]!;
    expect(t.dataLocation).toBe(1);
    expect(t.rawData?.length ?? 0).toBe(0);
    expect(Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]))).toEqual({ location: 'table.bin', offset: '0', length: '120' });
    // Under the threshold the table stays inside the model.
    const small = decodeModel(buildEmbeddingModel(config, weights, { externalData: { location: 'table.bin', threshold: 120 } }));
    expect(graphOf(small).initializer[0]!.rawData!.length).toBe(120);
  });

  it('rejects bad weights and options with core error codes', () => {
    const { config, weights } = layerOf({ inputDim: 4, outputDim: 2, inputLength: 3 });
    expect(errorCode(() => buildEmbeddingModel(config, new Float32Array(7)))).toBe('INVALID_WEIGHTS');
    expect(errorCode(() => buildEmbeddingModel(config, [1, 2] as unknown as Float32Array))).toBe('INVALID_WEIGHTS');
    expect(errorCode(() => buildEmbeddingModel(config, weights, { indexType: 'int16' as 'int32' }))).toBe('INVALID_CONFIG');
    expect(errorCode(() => buildEmbeddingModel(config, weights, { table: 'file' as 'input' }))).toBe('INVALID_CONFIG');
    expect(errorCode(() => buildEmbeddingModel(config, weights, { inputShape: [] }))).toBe('INVALID_CONFIG');
    expect(errorCode(() => buildEmbeddingModel(config, weights, { inputShape: ['batch', -1] }))).toBe('INVALID_CONFIG');
    for (const location of ['', '../x.data', '/tmp/x.data', 'a/../../x', 'C:\\x']) {
      expect(errorCode(() => buildEmbeddingModel(config, weights, { externalData: { location } }))).toBe('INVALID_CONFIG');
    }
    expect(errorCode(() => buildEmbeddingModel(config, weights, { externalData: { location: 'x', threshold: -1 } }))).toBe(
      'INVALID_CONFIG',
    );
    expect(buildEmbeddingModel(config, weights, { inputShape: ['b', 3] })).toBeInstanceOf(Uint8Array);
  });

  it('returns bytes that own their buffer (not a slice of a shared pool)', () => {
    const { config, weights } = layerOf({ inputDim: 2, outputDim: 1 });
    const bytes = buildEmbeddingModel(config, weights);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
  });

  it('takes weights null only for external data of any size, and then writes the same model as with the table', () => {
    const config = resolveConfig({ inputDim: 7, outputDim: 3 });
    const weights = new Float32Array(21).map((_, i) => i);
    const externalData = { location: 'm.onnx.data', threshold: 0 };
    expect(Buffer.from(buildEmbeddingModel(config, null, { externalData }))).toEqual(
      Buffer.from(buildEmbeddingModel(config, weights, { externalData })),
    );
    expect(() => buildEmbeddingModel(config, null)).toThrow(/weights null only for a table stored as external data/);
    expect(() => buildEmbeddingModel(config, null, { externalData: { location: 'm.onnx.data' } })).toThrow(EmbeddingError);
  });
});
