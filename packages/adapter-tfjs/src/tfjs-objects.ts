import {
  InvalidConfigError,
  type KerasIdentifier,
  type KerasObject,
  resolveConstraint,
  resolveInitializer,
  resolveRegularizer,
} from '@embedding-layer/core';
import { kerasClassName, toTfjsObjectJson } from '@embedding-layer/core/backend';
import type { serialization } from '@tensorflow/tfjs';
import type { TfjsRuntime } from './runtime.js';

/** Which argument an identifier belongs to. */
export type TfjsObjectFamily = 'initializer' | 'regularizer' | 'constraint';

/** A TF.js initializer, regularizer or constraint instance (`tf.initializers.randomUniform(...)`, ...). */
export type TfjsSerializable = serialization.Serializable;

/** TF.js's camelCase identifiers (`getInitializer('randomUniform')`, ...) and the class each names. */
const TFJS_IDENTIFIERS: Readonly<Record<TfjsObjectFamily, Readonly<Record<string, string>>>> = {
  initializer: {
    constant: 'Constant',
    glorotNormal: 'GlorotNormal',
    glorotUniform: 'GlorotUniform',
    heNormal: 'HeNormal',
    heUniform: 'HeUniform',
    identity: 'Identity',
    leCunNormal: 'LeCunNormal',
    leCunUniform: 'LeCunUniform',
    ones: 'Ones',
    orthogonal: 'Orthogonal',
    randomNormal: 'RandomNormal',
    randomUniform: 'RandomUniform',
    truncatedNormal: 'TruncatedNormal',
    varianceScaling: 'VarianceScaling',
    zeros: 'Zeros',
  },
  regularizer: { l1l2: 'L1L2' },
  constraint: { maxNorm: 'MaxNorm', minMaxNorm: 'MinMaxNorm', nonNeg: 'NonNeg', unitNorm: 'UnitNorm' },
};

/** The TF.js classes of each family (the class names are TF.js's, registered in its SerializationMap). */
const TFJS_CLASSES: Readonly<Record<TfjsObjectFamily, readonly string[]>> = {
  initializer: [...Object.values(TFJS_IDENTIFIERS.initializer)],
  regularizer: ['L1L2'],
  constraint: [...Object.values(TFJS_IDENTIFIERS.constraint)],
};

/** The layer arguments that hold such objects. */
export type ObjectArgument = 'embeddingsInitializer' | 'embeddingsRegularizer' | 'activityRegularizer' | 'embeddingsConstraint';

const ARGUMENT: Readonly<Record<TfjsObjectFamily, ObjectArgument>> = {
  initializer: 'embeddingsInitializer',
  regularizer: 'embeddingsRegularizer',
  constraint: 'embeddingsConstraint',
};

function isSerializable(value: unknown): value is TfjsSerializable {
  return typeof value === 'object' && value !== null && typeof (value as { getClassName?: unknown }).getClassName === 'function';
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function instantiate(tf: TfjsRuntime, className: string, config: Record<string, unknown>): TfjsSerializable {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new InvalidConfigError(`TF.js has no class ${JSON.stringify(className)} registered.`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config as serialization.ConfigDict) as TfjsSerializable;
}

/**
 * A Keras object resolved by core, rebuilt as the TF.js class with the same meaning. The class
 * name (LeCun spelling, L1/L2 as L1L2) comes from core's one Keras <-> TF.js map; the instance
 * is made by TF.js's SerializationMap, with no layer built to check it.
 */
function fromKeras(tf: TfjsRuntime, family: TfjsObjectFamily, object: KerasObject, argument: ObjectArgument): TfjsSerializable {
  const json = toTfjsObjectJson({ class_name: object.className, config: { ...object.config } });
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json.config)) if (key !== 'dtype') config[camel(key)] = value;
  switch (json.class_name) {
    case 'VarianceScaling': {
      const distribution = { truncated_normal: 'truncatedNormal', uniform: 'uniform' }[String(config.distribution)];
      if (!distribution) {
        throw new InvalidConfigError(
          `${argument}: TF.js's VarianceScaling has no distribution ${JSON.stringify(config.distribution)}; pass a \`seed\` to use core's Keras initializer instead.`,
        );
      }
      return instantiate(tf, 'VarianceScaling', { ...config, mode: camel(String(config.mode)), distribution });
    }
    default: {
      if (!TFJS_CLASSES[family].includes(json.class_name)) {
        throw new InvalidConfigError(`${argument}: TF.js has no ${family} ${object.className}.`);
      }
      return instantiate(tf, json.class_name, config);
    }
  }
}

/**
 * Turns what `tf.layers.embedding` accepts (a TF.js identifier such as `'randomUniform'`, a
 * `{ className, config }` dict, an instance) or what core accepts (a Keras name such as
 * `'uniform'`, `'l2'`, `'max_norm'`, or `{ class_name, config }`) into a TF.js instance.
 * TF.js's own reading wins where both apply, so the layer behaves as `tf.layers.embedding`.
 */
export function toTfjsObject(
  tf: TfjsRuntime,
  family: TfjsObjectFamily,
  identifier: unknown,
  argument: ObjectArgument = ARGUMENT[family],
): TfjsSerializable | null {
  if (identifier === null || identifier === undefined) return null;
  if (isSerializable(identifier)) return identifier;
  if (typeof identifier === 'string') {
    const className = TFJS_IDENTIFIERS[family][identifier] ?? identifier;
    if (TFJS_CLASSES[family].includes(className)) return instantiate(tf, className, {});
  } else if (typeof identifier === 'object' && 'className' in identifier) {
    const { className, config } = identifier as { className: unknown; config?: Record<string, unknown> };
    if (typeof className === 'string' && TFJS_CLASSES[family].includes(className)) return instantiate(tf, className, config ?? {});
  }
  const resolve = family === 'initializer' ? resolveInitializer : family === 'regularizer' ? resolveRegularizer : resolveConstraint;
  return fromKeras(tf, family, resolve(identifier as KerasIdentifier, snake(argument)), argument);
}

/** TF.js's `serializeKerasObject`: `{ className, config }`, or null. */
export function serializeTfjsObject(object: TfjsSerializable | null): serialization.ConfigDict | null {
  if (object === null) return null;
  // undefined (an unset seed) becomes null, as it does in model.json, so getConfig() is stable across save/load.
  const config: serialization.ConfigDict = {};
  for (const [key, value] of Object.entries(object.getConfig())) config[key] = value === undefined ? null : value;
  return { className: object.getClassName(), config };
}

/**
 * The Keras identifier core reads for a TF.js initializer, regularizer or constraint: the class
 * as Keras spells it (core's class-name map: `LeCunUniform` → `LecunUniform`) and the config
 * with Keras's snake_case keys (`maxValue` → `max_value`; TF.js's camelCase values such as
 * `fanAvg` are aliases core accepts).
 */
export function toKerasIdentifier(object: TfjsSerializable): KerasIdentifier {
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object.getConfig())) config[snake(key)] = value;
  return { className: kerasClassName(object.getClassName()), config };
}
