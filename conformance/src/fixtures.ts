import configErrors from '../fixtures/config-errors.json' with { type: 'json' };
import indexErrors from '../fixtures/index-errors.json' with { type: 'json' };
import initializers from '../fixtures/initializers.json' with { type: 'json' };
import lookup from '../fixtures/lookup.json' with { type: 'json' };
import mask from '../fixtures/mask.json' with { type: 'json' };
import outputShape from '../fixtures/output-shape.json' with { type: 'json' };
import roundtrip from '../fixtures/roundtrip.json' with { type: 'json' };
import training from '../fixtures/training.json' with { type: 'json' };
import weights from '../fixtures/weights.json' with { type: 'json' };
import type { FixtureFile } from './types.js';

/**
 * Every fixture file, by group. Written by `conformance/scripts/make_fixtures.py`, which
 * computes expected values independently of the TypeScript code.
 */
export const FIXTURES: readonly FixtureFile[] = [
  lookup,
  mask,
  outputShape,
  configErrors,
  indexErrors,
  initializers,
  roundtrip,
  weights,
  training,
] as unknown as FixtureFile[];
