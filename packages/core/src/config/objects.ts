import { CONSTRAINT_REGISTRY } from '../constraints/registry.js';
import { INITIALIZER_REGISTRY } from '../initializers/registry.js';
import { REGULARIZER_REGISTRY } from '../regularizers/registry.js';
import { type KerasIdentifier, type KerasObject, resolveKerasObject } from '../serialization/keras-object.js';

/**
 * Resolves an initializer named as Keras, Keras 3 or TF.js name it (`'uniform'`,
 * `'GlorotUniform'`, `'glorotUniform'`, `{ class_name, config }`...) to its Keras class and full
 * config with Keras's defaults, as `embeddingsInitializer` is resolved. Throws
 * `InvalidConfigError` naming `argument`, listing the known names or parameters.
 */
export function resolveInitializer(identifier: KerasIdentifier, argument = 'embeddings_initializer'): KerasObject {
  return resolveKerasObject(argument, 'initializer', INITIALIZER_REGISTRY, identifier);
}

/** As {@link resolveInitializer}, for a regularizer (`'l1'`, `'l2'`, `'l1_l2'`, `{ class_name: 'L1L2', config }`...). */
export function resolveRegularizer(identifier: KerasIdentifier, argument = 'embeddings_regularizer'): KerasObject {
  return resolveKerasObject(argument, 'regularizer', REGULARIZER_REGISTRY, identifier);
}

/** As {@link resolveInitializer}, for a constraint (`'max_norm'`, `'non_neg'`, `'unit_norm'`, `'min_max_norm'`...). */
export function resolveConstraint(identifier: KerasIdentifier, argument = 'embeddings_constraint'): KerasObject {
  return resolveKerasObject(argument, 'constraint', CONSTRAINT_REGISTRY, identifier);
}
