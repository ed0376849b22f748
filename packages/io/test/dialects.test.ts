import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressBar } from '../../cli/src/commands/convert.js';
import {
  detectFormat,
  encodeNpy,
  encodeSafetensors,
  findEmbeddingConfigs,
  formatForWriting,
  readLayerConfig,
  toKeras2LayerConfig,
  toKeras3LayerConfig,
  toTfjsLayerConfig,
} from '../src/formats.js';
import { readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { describeShared, REAL, realPath } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-dialects-');
});
afterAll(() => tmp.cleanup());

describe('config dialects', () => {
  const keras3 = {
    module: 'keras.layers',
    class_name: 'Embedding',
    config: {
      name: 'embedding_1',
      trainable: true,
      dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null },
      input_dim: 10000,
      output_dim: 16,
      embeddings_initializer: {
        module: 'keras.initializers',
        class_name: 'RandomUniform',
        config: { seed: null, minval: -0.05, maxval: 0.05 },
        registered_name: null,
      },
      embeddings_regularizer: null,
      activity_regularizer: null,
      embeddings_constraint: {
        module: 'keras.constraints',
        class_name: 'MaxNorm',
        config: { max_value: 3, axis: 1 },
        registered_name: null,
      },
      mask_zero: true,
      quantization_config: null,
    },
    registered_name: null,
  };

  it('reads a Keras 3 config and writes it back in the Keras 3 dialect unchanged', () => {
    const { config, notes } = readLayerConfig(keras3);
    expect(notes).toEqual([]);
    const resolved = resolveConfig(config);
    expect(resolved).toMatchObject({ name: 'embedding_1', inputDim: 10000, outputDim: 16, maskZero: true, inputLength: null });
    const { quantization_config: _q, ...expected } = keras3.config;
    expect(toKeras3LayerConfig(resolved)).toEqual(expected);
  });

  it('Keras 2 and TF.js dialects of the same config', () => {
    const resolved = resolveConfig({
      inputDim: 5,
      outputDim: 3,
      name: 'e',
      inputLength: 7,
      embeddingsInitializer: 'lecun_normal',
      embeddingsRegularizer: 'l2',
      activityRegularizer: { className: 'L1', config: { l1: 0.5 } },
    });
    const k2 = toKeras2LayerConfig(resolved);
    expect(k2).toMatchObject({ batch_input_shape: [null, 7], input_length: 7, dtype: 'float32' });
    expect(k2.embeddings_initializer.class_name).toBe('LecunNormal');
    const tfjs = toTfjsLayerConfig(resolved);
    expect(tfjs.embeddings_initializer.class_name).toBe('LeCunNormal');
    expect(tfjs.embeddings_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 0.01 } });
    expect(tfjs.activity_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0.5, l2: 0 } });
    // Keras 2 and Keras 3 read back to the same layer (Keras 3 has no input_length).
    for (const json of [k2, toKeras3LayerConfig(resolved)]) {
      const back = resolveConfig(readLayerConfig(json).config);
      expect({ ...back, inputLength: resolved.inputLength }).toEqual(resolved);
    }
    // TF.js reads back as the same penalties, spelled L1L2 (TF.js registers no L1 / L2 class).
    expect(resolveConfig(readLayerConfig(tfjs).config)).toEqual({
      ...resolved,
      embeddingsRegularizer: { className: 'L1L2', config: { l1: 0, l2: 0.01 } },
      activityRegularizer: { className: 'L1L2', config: { l1: 0.5, l2: 0 } },
    });
  });

  it('keeps our embeddings_dropout out of the Keras and TF.js dialects (Keras would reject it), in safetensors metadata', async () => {
    const resolved = resolveConfig({ inputDim: 2, outputDim: 2, name: 'd', embeddingsDropout: 0.25 });
    expect('embeddings_dropout' in toKeras2LayerConfig(resolved)).toBe(false);
    expect('embeddings_dropout' in toTfjsLayerConfig(resolved)).toBe(false);
    expect('embeddings_dropout' in toKeras3LayerConfig(resolved)).toBe(false);
    const path = join(tmp.dir, 'dropout.safetensors');
    await saveEmbedding(path, { config: resolved, weights: new Float32Array([1, 2, 3, 4]) });
    expect(resolveConfig((await readEmbedding(path)).config).embeddingsDropout).toBe(0.25);
  });

  it('normalizes mixed-precision policies and notes it; rejects other classes with BadFileError', () => {
    const mixed = { ...keras3.config, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'mixed_float16' } } };
    const { config, notes } = readLayerConfig(mixed, 'm.keras');
    expect(config.dtype).toBe('float32');
    expect(notes[0]).toMatch(/mixed_float16/);
    expect(() => readLayerConfig({ class_name: 'Dense', config: {} }, 'm.h5')).toThrow(
      /m\.h5: expected a layer with class_name "Embedding"/,
    );
    let error: unknown;
    try {
      readLayerConfig({ ...keras3.config, input_dim: -1 }, 'neg.h5');
    } catch (e) {
      error = e;
    }
    expect(BadFileError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^neg\.h5: the Embedding config is not valid: input_dim/);
  });

  it('finds Embedding configs at any nesting (functional models, sub-models)', () => {
    const model = {
      class_name: 'Functional',
      config: {
        layers: [
          { class_name: 'InputLayer', config: { name: 'in' } },
          { class_name: 'Sequential', config: { name: 'sub', layers: [{ class_name: 'Embedding', config: { name: 'inner' } }] } },
          { class_name: 'Embedding', config: { name: 'outer' } },
        ],
      },
    };
    expect(findEmbeddingConfigs(model).map((l) => (l.config as { name: string }).name)).toEqual(['inner', 'outer']);
  });
});

describeShared('real', 'format detection of the real files', () => {
  it('by content for every real file', async () => {
    const expected = {
      misc0: 'keras-h5',
      conv1d: 'keras-h5',
      textgenrnn: 'keras-h5',
      tfjs: 'tfjs',
      keras3: 'keras',
      onnx: 'onnx',
    } as const;
    for (const [key, format] of Object.entries(expected)) expect(await detectFormat(realPath(REAL[key as keyof typeof REAL]))).toBe(format);
  });
});

describe('format detection', () => {
  it('by content, whatever the extension', async () => {
    const npy = join(tmp.dir, 'matrix.bin');
    await writeFile(npy, encodeNpy(new Float32Array(4), 2, 2));
    expect(await detectFormat(npy)).toBe('npy');
    const st = join(tmp.dir, 'weights.bin');
    await writeFile(st, encodeSafetensors([{ name: 'w', data: new Float32Array(4), shape: [2, 2] }]));
    expect(await detectFormat(st)).toBe('safetensors');
    const empty = join(tmp.dir, 'empty.bin');
    await writeFile(empty, '');
    await expect(detectFormat(empty)).rejects.toThrow(/empty/);
  });

  it('output format from the extension or an explicit format', () => {
    expect(formatForWriting('a/b.HDF5')).toBe('keras-h5');
    expect(formatForWriting('a/model.json')).toBe('tfjs');
    expect(formatForWriting('a/x.bin', 'npy')).toBe('npy');
    expect(() => formatForWriting('a/x.bin')).toThrow(/cannot tell the format/);
    expect(() => formatForWriting('a/x.bin', 'pickle' as never)).toThrow(/unknown format "pickle"/);
  });
});

describeShared('real', 'read progress', () => {
  it('every reader reports progress that ends at the bytes it read', async () => {
    for (const fx of Object.values(REAL)) {
      const calls: [number, number][] = [];
      await readEmbeddings(realPath(fx), { onProgress: (done, total) => calls.push([done, total]) });
      expect(calls.length, fx.file).toBeGreaterThan(0);
      const [done, total] = calls.at(-1)!;
      expect(done, fx.file).toBe(total);
      expect(
        calls.every(([d, t], i) => d <= t && (i === 0 || d >= calls[i - 1]![0])),
        fx.file,
      ).toBe(true);
    }
  });
});

describe('CLI progress bar', () => {
  it('draws on a TTY and stays silent otherwise', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar(tty, 10);
    bar.update('reading', 5_000_000, 10_000_000);
    bar.update('reading', 5_000_001, 10_000_000); // same percentage: no redraw
    bar.update('reading', 10_000_000, 10_000_000);
    bar.done();
    expect(written).toEqual(['\r[#####.....]  50% reading 5.0/10.0 MB', '\r[##########] 100% reading 10.0/10.0 MB', '\n']);
    const pipe: string[] = [];
    const quiet = new ProgressBar({ isTTY: false, write: (s: string) => pipe.push(s) } as unknown as NodeJS.WriteStream);
    quiet.update('reading', 1, 2);
    quiet.done();
    expect(pipe).toEqual([]);
  });
});
