import { InvalidConfigError, resolveConstraint, resolveInitializer, resolveRegularizer } from '@embedding-layer/core';
import { CONSTRAINTS, INITIALIZERS, KERAS_TO_TFJS_CLASS_NAMES, REGULARIZERS, tfjsClassName } from '@embedding-layer/core/backend';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { serializeTfjsObject, toKerasIdentifier, toTfjsObject } from './tfjs-objects.js';

// TF.js's own registry of serializable classes: the independent reference for the class names.
const registered = () => tf.serialization.SerializationMap.getMap().classNameMap;
const VARIANCE_SCALING_CASES = new Set(['GlorotUniform', 'GlorotNormal', 'HeUniform', 'HeNormal', 'LecunUniform', 'LecunNormal']);

describe("core's Keras <-> TF.js class-name map against TF.js's SerializationMap", () => {
  it('each renamed class is registered by TF.js under its TF.js name only', () => {
    for (const [keras, tfjs] of Object.entries(KERAS_TO_TFJS_CLASS_NAMES)) {
      expect(registered()[tfjs], tfjs).toBeDefined();
      expect(registered()[keras], keras).toBeUndefined();
    }
  });

  it('every Keras initializer and constraint class of core is registered by TF.js under tfjsClassName(), and read back', () => {
    for (const [family, specs, resolve] of [
      ['initializer', INITIALIZERS, resolveInitializer],
      ['constraint', CONSTRAINTS, resolveConstraint],
    ] as const) {
      for (const { className } of specs) {
        expect(registered()[tfjsClassName(className)], className).toBeDefined();
        // Built from core's resolved object by TF.js's registry alone (no layer is built to check it).
        const object = toTfjsObject(tf, family, { class_name: className, config: {} })!;
        expect((object.constructor as unknown as { className: string }).className).toBe(tfjsClassName(className));
        // TF.js serializes its Glorot/He/LeCun classes as the VarianceScaling they are (getClassName()).
        const serialized = VARIANCE_SCALING_CASES.has(className) ? 'VarianceScaling' : className;
        expect(object.getClassName()).toBe(tfjsClassName(serialized));
        expect(resolve(toKerasIdentifier(object)).className).toBe(serialized);
      }
    }
  });

  it("regularizers: L1L2 is TF.js's only one; Keras's L1 and L2 become L1L2 with the other factor 0", () => {
    expect(REGULARIZERS.map((spec) => spec.className)).toEqual(['L1', 'L2', 'L1L2']);
    expect(registered().L1L2).toBeDefined();
    expect(registered().L1).toBeUndefined();
    const l1 = toTfjsObject(tf, 'regularizer', { class_name: 'L1', config: { l1: 0.5 } });
    expect(serializeTfjsObject(l1)).toEqual({ className: 'L1L2', config: { l1: 0.5, l2: 0 } });
    const l2 = toTfjsObject(tf, 'regularizer', 'l2');
    expect(serializeTfjsObject(l2)).toEqual({ className: 'L1L2', config: { l1: 0, l2: 0.01 } });
    // The same penalty as TF.js's own L1L2 regularizer on the same weights.
    const w = tf.tensor2d([
      [1, -2],
      [0.5, 3],
    ]);
    const ours = (l1 as unknown as { apply(x: tf.Tensor): tf.Scalar }).apply(w).dataSync()[0]!;
    const theirs = tf.regularizers.l1({ l1: 0.5 }).apply(w).dataSync()[0]!;
    expect(ours).toBeCloseTo(theirs, 6);
    expect(resolveRegularizer(toKerasIdentifier(l2!)).className).toBe('L1L2');
  });

  it('LeCun initializers: a Keras name builds the TF.js class; the TF.js name reads back as Keras spells it', () => {
    const className = (object: unknown) => (object as { constructor: { className: string } }).constructor.className;
    expect(className(toTfjsObject(tf, 'initializer', 'lecun_uniform'))).toBe('LeCunUniform');
    expect(className(toTfjsObject(tf, 'initializer', { class_name: 'LecunNormal', config: {} }))).toBe('LeCunNormal');
    expect(className(toTfjsObject(tf, 'initializer', 'leCunNormal'))).toBe('LeCunNormal');
    // An object whose serialized class is TF.js's spelling reads back as Keras spells it.
    const named = { getClassName: () => 'LeCunUniform', getConfig: () => ({ seed: null }) } as unknown as tf.serialization.Serializable;
    expect(toKerasIdentifier(named)).toEqual({ className: 'LecunUniform', config: { seed: null } });
  });

  it('a bad value is refused by core before TF.js sees it, with core’s error', () => {
    let error: unknown;
    try {
      toTfjsObject(tf, 'constraint', { class_name: 'MaxNorm', config: { max_value: -1 } });
    } catch (e) {
      error = e;
    }
    expect(InvalidConfigError.isInstance(error)).toBe(true);
  });
});
