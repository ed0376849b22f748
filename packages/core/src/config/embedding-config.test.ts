import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { resolveConfig } from './embedding-config.js';
import { fromKerasConfig, toKerasConfig } from './keras-config.js';

function message(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(InvalidConfigError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidConfigError');
}

describe('resolveConfig', () => {
  it("fills Keras's defaults", () => {
    const c = resolveConfig({ inputDim: 1000, outputDim: 64, name: 'e' });
    expect(c.embeddingsInitializer).toEqual({ className: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } });
    expect(c.embeddingsRegularizer).toBeNull();
    expect(c.activityRegularizer).toBeNull();
    expect(c.embeddingsConstraint).toBeNull();
    expect(c.maskZero).toBe(false);
    expect(c.inputLength).toBeNull();
    expect(c.trainable).toBe(true);
    expect(c.dtype).toBe('float32');
  });

  it('names the argument, the value and the rule', () => {
    expect(message(() => resolveConfig({ inputDim: 12.5, outputDim: 4 }))).toMatch(/input_dim.*positive integer.*12\.5/);
    expect(message(() => resolveConfig({ inputDim: 10, outputDim: -32 }))).toMatch(/output_dim.*non-negative integer.*-32/);
    expect(message(() => resolveConfig({ inputDim: 10, outputDim: 4, inputLength: 0 }))).toMatch(/input_length.*positive integer.*0/);
    expect(message(() => resolveConfig({ inputDim: 10, outputDim: 4, maskZero: 'yes' as never }))).toMatch(/mask_zero.*boolean.*"yes"/);
  });

  it('lists the known names for an unknown initializer, regularizer or constraint', () => {
    expect(message(() => resolveConfig({ inputDim: 10, outputDim: 4, embeddingsInitializer: 'glorot' }))).toMatch(
      /unknown initializer "glorot".*uniform \(RandomUniform\).*glorot_uniform \(GlorotUniform\)/,
    );
    expect(message(() => resolveConfig({ inputDim: 10, outputDim: 4, embeddingsRegularizer: 'l3' }))).toMatch(/l1 \(L1\).*l2 \(L2\)/);
    expect(message(() => resolveConfig({ inputDim: 10, outputDim: 4, embeddingsConstraint: 'max' }))).toMatch(/max_norm \(MaxNorm\)/);
    expect(
      message(() =>
        resolveConfig({ inputDim: 10, outputDim: 4, embeddingsInitializer: { className: 'RandomUniform', config: { min: 0 } } }),
      ),
    ).toMatch(/no parameter "min".*minval, maxval, seed/);
  });

  it('accepts Keras, class and TF.js names for the same initializer', () => {
    for (const name of ['glorot_uniform', 'GlorotUniform', 'glorotUniform', 'GlorotUniformV2']) {
      expect(resolveConfig({ inputDim: 3, outputDim: 2, embeddingsInitializer: name }).embeddingsInitializer.className).toBe(
        'GlorotUniform',
      );
    }
  });

  it("gives 'l1_l2' tf-keras's 0.01/0.01 but the class L1L2 its 0/0 defaults", () => {
    expect(resolveConfig({ inputDim: 3, outputDim: 2, embeddingsRegularizer: 'l1_l2' }).embeddingsRegularizer?.config).toEqual({
      l1: 0.01,
      l2: 0.01,
    });
    expect(
      resolveConfig({ inputDim: 3, outputDim: 2, embeddingsRegularizer: { className: 'L1L2' } }).embeddingsRegularizer?.config,
    ).toEqual({
      l1: 0,
      l2: 0,
    });
  });

  it("moves the layer seed into the initializer's config so getConfig keeps it", () => {
    const c = resolveConfig({ inputDim: 3, outputDim: 2, seed: 9, embeddingsInitializer: 'he_normal' });
    expect(c.embeddingsInitializer.config.seed).toBe(9);
    expect(toKerasConfig(c).embeddings_initializer).toEqual({ class_name: 'HeNormal', config: { seed: 9 } });
  });

  it('keeps an initializer seed over the layer seed', () => {
    const c = resolveConfig({
      inputDim: 3,
      outputDim: 2,
      seed: 9,
      embeddingsInitializer: { className: 'RandomNormal', config: { seed: 4 } },
    });
    expect(c.embeddingsInitializer.config.seed).toBe(4);
  });

  it('numbers default names as Keras does', () => {
    const a = resolveConfig({ inputDim: 3, outputDim: 2 }).name;
    const b = resolveConfig({ inputDim: 3, outputDim: 2 }).name;
    expect(a).toMatch(/^embedding(_\d+)?$/);
    expect(b).not.toBe(a);
  });
});

describe('fromKerasConfig', () => {
  it('reads a Keras 3 dtype policy and ignores build-only keys', () => {
    const c = fromKerasConfig({
      class_name: 'Embedding',
      config: {
        input_dim: 5,
        output_dim: 2,
        dtype: { class_name: 'DTypePolicy', config: { name: 'float32' } },
        batch_shape: [null, 3],
        sparse: false,
      },
    });
    expect(c).toEqual({ inputDim: 5, outputDim: 2, dtype: 'float32' });
  });

  it('rejects unknown keys with the list of known ones', () => {
    expect(message(() => fromKerasConfig({ input_dim: 5, output_dim: 2, units: 3 }))).toMatch(/Unknown key "units".*input_dim/);
  });
});
