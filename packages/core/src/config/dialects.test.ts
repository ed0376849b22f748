import { describe, expect, it } from 'vitest';
import { Embedding } from '../embedding.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { createMemoryBackend } from '../testing/memory-backend.js';
import {
  findEmbeddingConfigs,
  normalizeKerasLayerConfig,
  toKeras2LayerConfig,
  toKeras3LayerConfig,
  toKeras3ObjectJson,
  toLayerConfig,
  toTfjsLayerConfig,
} from './dialects.js';
import { dtypePolicyName, keras3DtypePolicy } from './dtype-policy.js';
import { resolveConfig } from './embedding-config.js';
import { fromKerasConfig, toKerasConfig } from './keras-config.js';
import { KERAS_TO_TFJS_CLASS_NAMES, kerasClassName, tfjsClassName, toTfjsObjectJson } from './tfjs-class-names.js';

// Layer configs in each dialect, as Keras 3, TF.js and Keras 1.2 write an Embedding (the dims and names of three
// real files named in ../shared/fixtures/*/SOURCES.md; the files themselves are read by io's real-file tests):
// the Embedding of real/aura-keras3-sentiment/sentiment_model.keras (config.json, Keras 3),
const KERAS3_FILE = {
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
  embeddings_constraint: null,
  mask_zero: false,
};
// of real/harshaky-tfjs-sentiment/model.json (TF.js),
const TFJS_FILE = {
  name: 'embedding',
  trainable: true,
  batch_input_shape: [null, null],
  dtype: 'float32',
  input_dim: 6000,
  output_dim: 128,
  embeddings_initializer: { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } },
  embeddings_regularizer: null,
  activity_regularizer: null,
  embeddings_constraint: null,
  mask_zero: false,
  input_length: null,
};
// and of real-2/dl4j-keras1-theano-conv1d/embedding_conv1d_theano_1.h5 (model_config, Keras 1.2).
const KERAS1_FILE = {
  name: 'embedding_1',
  trainable: true,
  batch_input_shape: [null, 10],
  input_dtype: 'int32',
  input_dim: 4,
  output_dim: 5,
  init: 'uniform',
  input_length: 10,
  mask_zero: false,
  activity_regularizer: null,
  W_regularizer: null,
  W_constraint: null,
  dropout: 0.0,
};

const read = (json: Record<string, unknown>) => resolveConfig(fromKerasConfig(normalizeKerasLayerConfig(json).config));

describe('Keras dialects: one module reads and writes every spelling', () => {
  it('a real Keras 3 layer config reads and is written back unchanged', () => {
    expect(normalizeKerasLayerConfig(KERAS3_FILE).notes).toEqual([]);
    expect(toKeras3LayerConfig(read(KERAS3_FILE))).toEqual(KERAS3_FILE);
    expect(toLayerConfig(read(KERAS3_FILE), 'keras3')).toEqual(KERAS3_FILE);
  });

  it('a real TF.js model.json layer config reads and is written back unchanged', () => {
    expect(toTfjsLayerConfig(read(TFJS_FILE))).toEqual(TFJS_FILE);
    expect(toLayerConfig(read(TFJS_FILE), 'tfjs')).toEqual(TFJS_FILE);
  });

  it('a real Keras 1.2 config is renamed as Keras 2 legacy converter renames it (init, W_*, input_dtype, dropout 0)', () => {
    const { config, notes } = normalizeKerasLayerConfig(KERAS1_FILE);
    expect(config).toEqual({
      name: 'embedding_1',
      trainable: true,
      batch_input_shape: [null, 10],
      dtype: 'float32',
      input_dim: 4,
      output_dim: 5,
      embeddings_initializer: 'uniform',
      input_length: 10,
      mask_zero: false,
      activity_regularizer: null,
      embeddings_regularizer: null,
      embeddings_constraint: null,
    });
    expect(notes.join('\n')).toMatch(/init -> embeddings_initializer, W_regularizer -> embeddings_regularizer/);
    expect(notes.join('\n')).toMatch(/dtype "int32"/);
    // Keras 2's get_config of the same layer (uniform is RandomUniform(-0.05, 0.05)).
    expect(toKeras2LayerConfig(read(KERAS1_FILE))).toEqual({
      name: 'embedding_1',
      trainable: true,
      batch_input_shape: [null, 10],
      dtype: 'float32',
      input_dim: 4,
      output_dim: 5,
      embeddings_initializer: { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } },
      embeddings_regularizer: null,
      activity_regularizer: null,
      embeddings_constraint: null,
      mask_zero: false,
      input_length: 10,
    });
    expect(KERAS1_FILE).toHaveProperty('init', 'uniform'); // the input is not modified
  });

  it('Embedding.fromConfig reads a Keras 1.2 config as Keras 2 from_config does (its legacy converter), bare or wrapped', async () => {
    const keras1 = {
      ...KERAS1_FILE,
      W_constraint: { name: 'MaxNorm', m: 3, axis: 0 },
      W_regularizer: { name: 'WeightRegularizer', l1: 0, l2: 0.01 },
    };
    for (const json of [keras1, { class_name: 'Embedding', config: keras1 }]) {
      const layer = await Embedding.fromConfig(json, { backend: createMemoryBackend() });
      // Keras 2's get_config of Embedding(4, 5, input_length=10, embeddings_regularizer=l2(0.01), embeddings_constraint=max_norm(3)).
      expect(layer.getConfig()).toMatchObject({
        name: 'embedding_1',
        input_dim: 4,
        output_dim: 5,
        input_length: 10,
        dtype: 'float32',
        embeddings_initializer: { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } },
        embeddings_regularizer: { class_name: 'L1L2', config: { l1: 0, l2: 0.01 } },
        embeddings_constraint: { class_name: 'MaxNorm', config: { max_value: 3, axis: 0 } },
      });
      layer.dispose();
    }
    expect(KERAS1_FILE).toHaveProperty('init', 'uniform'); // the input is not modified
  });

  it("Keras 1's regularizer and constraint objects become Keras 2's, with Keras 2's argument names", () => {
    const { config } = normalizeKerasLayerConfig({
      ...KERAS1_FILE,
      W_regularizer: { name: 'WeightRegularizer', l1: 0, l2: 0.01 },
      activity_regularizer: { name: 'ActivityRegularizer', l1: 0.5 },
      W_constraint: { name: 'MinMaxNorm', low: 0.1, high: 2, rate: 0.5, axis: 1 },
      dropout: 0.25,
    });
    expect(config.embeddings_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 0.01 } });
    expect(config.activity_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0.5, l2: 0 } });
    expect(config.embeddings_constraint).toEqual({
      class_name: 'MinMaxNorm',
      config: { min_value: 0.1, max_value: 2, rate: 0.5, axis: 1 },
    });
    expect(config.embeddings_dropout).toBe(0.25);
    expect(
      normalizeKerasLayerConfig({ ...KERAS1_FILE, W_constraint: { name: 'MaxNorm', m: 3, axis: 0 } }).config.embeddings_constraint,
    ).toEqual({ class_name: 'MaxNorm', config: { max_value: 3, axis: 0 } });
  });

  it('both the Keras 1 and the Keras 2 spelling of an argument is InvalidConfigError, as Keras refuses it', () => {
    let error: unknown;
    try {
      normalizeKerasLayerConfig({ ...KERAS1_FILE, embeddings_initializer: 'zeros' });
    } catch (e) {
      error = e;
    }
    expect(InvalidConfigError.isInstance(error)).toBe(true);
    expect((error as InvalidConfigError).code).toBe('INVALID_CONFIG');
  });

  it('dtype policies: Keras 3 objects, Keras 3.14 quantized policies, mixed precision', () => {
    expect(dtypePolicyName(keras3DtypePolicy('mixed_float16'))).toBe('mixed_float16');
    const int4 = { module: 'keras', class_name: 'DTypePolicy', config: { mode: 'int4/-1', source_name: 'float32' }, registered_name: null };
    expect(dtypePolicyName(int4)).toBe('int4/-1_from_float32');
    // fromKerasConfig names it too (no silent float32): a quantized layer is refused unless normalized first.
    expect(fromKerasConfig({ ...KERAS3_FILE, dtype: int4 }).dtype).toBe('int4/-1_from_float32');
    expect(() => resolveConfig(fromKerasConfig({ ...KERAS3_FILE, dtype: int4 }))).toThrow(InvalidConfigError);
    const quantized = normalizeKerasLayerConfig({ ...KERAS3_FILE, dtype: int4, quantization_config: null });
    expect(quantized.config.dtype).toBe('float32');
    expect(quantized.notes[0]).toMatch(/int4\/-1_from_float32/);
    const mixed = normalizeKerasLayerConfig({ ...KERAS3_FILE, dtype: keras3DtypePolicy('mixed_bfloat16') });
    expect(mixed.config.dtype).toBe('float32');
    expect(read({ ...KERAS3_FILE, dtype: null }).dtype).toBe('float32');
  });

  it('TF 1.x RandomUniform(maxval=None) reads as maxval 1, as tf.random_uniform uses', () => {
    const { config, notes } = normalizeKerasLayerConfig({
      ...TFJS_FILE,
      embeddings_initializer: { class_name: 'RandomUniform', config: { minval: 0, maxval: null, seed: null } },
    });
    expect(config.embeddings_initializer).toEqual({ class_name: 'RandomUniform', config: { minval: 0, maxval: 1, seed: null } });
    expect(notes).toHaveLength(1);
  });

  it('Keras 3 objects carry module and registered_name, and no initializer dtype; LoRA keys only when set', () => {
    expect(toKeras3ObjectJson({ class_name: 'Zeros', config: { dtype: 'float32' } }, 'keras.initializers')).toEqual({
      module: 'keras.initializers',
      class_name: 'Zeros',
      config: {},
      registered_name: null,
    });
    const lora = toKeras3LayerConfig(resolveConfig({ inputDim: 4, outputDim: 2, loraRank: 2 }));
    expect([lora.lora_rank, lora.lora_alpha]).toEqual([2, 2]);
    expect('lora_rank' in toKeras2LayerConfig(resolveConfig({ inputDim: 4, outputDim: 2, loraRank: 2 }))).toBe(false);
  });

  it('the one Keras <-> TF.js class-name map: LeCun spelling, L1 and L2 as L1L2', () => {
    expect(Object.entries(KERAS_TO_TFJS_CLASS_NAMES)).toEqual([
      ['LecunNormal', 'LeCunNormal'],
      ['LecunUniform', 'LeCunUniform'],
    ]);
    expect(tfjsClassName('LecunUniform')).toBe('LeCunUniform');
    expect(kerasClassName('LeCunUniform')).toBe('LecunUniform');
    expect(tfjsClassName('GlorotUniform')).toBe('GlorotUniform');
    expect(kerasClassName('GlorotUniform')).toBe('GlorotUniform');
    expect(toTfjsObjectJson({ class_name: 'L1', config: { l1: 0.5 } })).toEqual({ class_name: 'L1L2', config: { l1: 0.5, l2: 0 } });
    expect(toTfjsObjectJson({ class_name: 'L2', config: { l2: 0.25 } })).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 0.25 } });
    const tfjs = toTfjsLayerConfig(
      resolveConfig({ inputDim: 3, outputDim: 2, embeddingsInitializer: 'lecun_uniform', embeddingsRegularizer: 'l2' }),
    );
    expect(tfjs.embeddings_initializer.class_name).toBe('LeCunUniform');
    expect(tfjs.embeddings_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 0.01 } });
  });

  it('Keras writers leave out what Keras does not know; getConfig() is pure Keras (no embeddings_dropout)', async () => {
    const resolved = resolveConfig({ inputDim: 4, outputDim: 2, embeddingsDropout: 0.25, paddingIdx: 0 });
    const layer = await Embedding.create({ inputDim: 4, outputDim: 2, embeddingsDropout: 0.25 }, { backend: createMemoryBackend() });
    try {
      expect('embeddings_dropout' in layer.getConfig()).toBe(false);
      expect(layer.getConfig()).toEqual(toKerasConfig(layer.config));
    } finally {
      await layer.dispose();
    }
    expect('embeddings_dropout' in toKerasConfig(resolved)).toBe(false);
    // PyTorch's keys stay in toKerasConfig (core round-trips them) but not in a Keras 2/3 or TF.js file.
    expect(toKerasConfig(resolved).padding_idx).toBe(0);
    for (const dialect of ['keras2', 'keras3', 'tfjs'] as const) {
      const written = toLayerConfig(resolved, dialect) as unknown as Record<string, unknown>;
      expect(Object.keys(written).filter((key) => key === 'embeddings_dropout' || key === 'padding_idx')).toEqual([]);
    }
  });

  it('finds every Embedding in a model config, nested, in document order', () => {
    const model = {
      class_name: 'Functional',
      config: {
        layers: [
          { class_name: 'Embedding', config: { name: 'a' } },
          { class_name: 'Model', config: { layers: [{ class_name: 'Embedding', config: { name: 'b' } }] } },
        ],
      },
    };
    expect(findEmbeddingConfigs(model).map((layer) => (layer.config as { name: string }).name)).toEqual(['a', 'b']);
  });
});
