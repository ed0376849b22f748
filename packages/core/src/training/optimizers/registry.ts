import {
  buildRegistry,
  type KerasClassSpec,
  type KerasIdentifier,
  type KerasObject,
  resolveKerasObject,
} from '../../serialization/keras-object.js';
import type { OptimizerSupportV2 } from '../../spec/v2/embedding-backend-v2.js';
import { Adagrad } from './adagrad.js';
import { Adam } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { RmsProp } from './rmsprop.js';
import { Sgd } from './sgd.js';

const rate = { kind: 'nonNegative' } as const;
const fraction = { kind: 'fraction' } as const;
const positive = { kind: 'positive' } as const;

/** Optimizers by Keras name, with Keras 3's defaults and config keys. */
export const OPTIMIZERS: readonly KerasClassSpec[] = [
  {
    className: 'SGD',
    aliases: ['sgd'],
    defaults: { learning_rate: 0.01, momentum: 0.0, nesterov: false },
    rules: { learning_rate: rate, momentum: fraction, nesterov: { kind: 'boolean' } },
  },
  {
    className: 'RMSprop',
    aliases: ['rmsprop'],
    defaults: { learning_rate: 0.001, rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false },
    rules: { learning_rate: rate, rho: fraction, momentum: fraction, epsilon: positive, centered: { kind: 'boolean' } },
  },
  {
    className: 'Adam',
    aliases: ['adam'],
    defaults: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, lazy: false },
    rules: {
      learning_rate: rate,
      beta_1: fraction,
      beta_2: fraction,
      epsilon: positive,
      amsgrad: { kind: 'boolean' },
      lazy: { kind: 'boolean' },
    },
  },
  {
    className: 'Adagrad',
    aliases: ['adagrad'],
    defaults: { learning_rate: 0.001, initial_accumulator_value: 0.1, epsilon: 1e-7 },
    rules: { learning_rate: rate, initial_accumulator_value: { kind: 'nonNegative' }, epsilon: positive },
  },
];

const OPTIMIZER_REGISTRY = buildRegistry(OPTIMIZERS);

/**
 * An optimizer: a Keras name (`'rmsprop'`) or a config in Keras's keys
 * (`{ className: 'Adam', config: { learning_rate: 0.01, lazy: true } }`).
 */
export type OptimizerIdentifier = KerasIdentifier;

/** Resolves an optimizer identifier, filling Keras's defaults. Unknown names list the known ones. */
export function resolveOptimizer(identifier: OptimizerIdentifier): KerasObject {
  return resolveKerasObject('optimizer', 'optimizer', OPTIMIZER_REGISTRY, identifier);
}

/** Binds a resolved optimizer to a (rows x cols) table, allocating its slots. */
export function createOptimizer(spec: KerasObject, rows: number, cols: number): Optimizer {
  switch (spec.className) {
    case 'SGD':
      return new Sgd(spec, rows, cols);
    case 'RMSprop':
      return new RmsProp(spec, rows, cols);
    case 'Adam':
      return new Adam(spec, rows, cols);
    default:
      return new Adagrad(spec, rows, cols);
  }
}

/**
 * The entry of a backend's `supports.optimizers` that applies this optimizer, or null: the
 * same class name, and every key of the entry's `only` at its value in the resolved config
 * (Keras's defaults filled). Core's trainer hands the step to the backend exactly when this
 * is not null; the conformance suite reads the entry's `relativeError` for its tolerance.
 */
export function appliedOptimizer(
  supports: { readonly optimizers?: readonly OptimizerSupportV2[] },
  optimizer: OptimizerIdentifier,
): OptimizerSupportV2 | null {
  const spec = resolveOptimizer(optimizer);
  const config = spec.config as Record<string, unknown>;
  for (const entry of supports.optimizers ?? []) {
    if (entry.className !== spec.className) continue;
    if (Object.entries(entry.only ?? {}).every(([key, value]) => config[key] === value)) return entry;
  }
  return null;
}
