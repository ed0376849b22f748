import type { KerasObjectJson } from './keras-config.js';

/**
 * The one map of class names between Keras and TF.js: Keras class names that TF.js registers
 * under another name (TF.js's `serialization.SerializationMap`). Every other initializer,
 * regularizer and constraint class has the same name in both.
 */
export const KERAS_TO_TFJS_CLASS_NAMES: Readonly<Record<string, string>> = Object.freeze({
  LecunNormal: 'LeCunNormal',
  LecunUniform: 'LeCunUniform',
});

const TFJS_TO_KERAS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(KERAS_TO_TFJS_CLASS_NAMES).map(([keras, tfjs]) => [tfjs, keras])),
);

/** The class name TF.js registers for a Keras class name (`LecunUniform` → `LeCunUniform`; others unchanged). */
export function tfjsClassName(kerasClassName: string): string {
  return KERAS_TO_TFJS_CLASS_NAMES[kerasClassName] ?? kerasClassName;
}

/** The Keras class name of a TF.js class name (`LeCunUniform` → `LecunUniform`; others unchanged). */
export function kerasClassName(tfjsClassName: string): string {
  return TFJS_TO_KERAS[tfjsClassName] ?? tfjsClassName;
}

/**
 * A Keras `{ class_name, config }` object as TF.js registers it: LeCun classes renamed, and
 * Keras's `L1(l1)` and `L2(l2)` as `L1L2` with the other factor 0 (TF.js registers only
 * `L1L2`). The config keeps Keras's snake_case keys, as model.json does.
 */
export function toTfjsObjectJson(json: KerasObjectJson): KerasObjectJson;
export function toTfjsObjectJson(json: KerasObjectJson | null): KerasObjectJson | null;
export function toTfjsObjectJson(json: KerasObjectJson | null): KerasObjectJson | null {
  if (json === null) return null;
  if (json.class_name === 'L1') return { class_name: 'L1L2', config: { l1: json.config.l1, l2: 0 } };
  if (json.class_name === 'L2') return { class_name: 'L1L2', config: { l1: 0, l2: json.config.l2 } };
  return { class_name: tfjsClassName(json.class_name), config: json.config };
}
