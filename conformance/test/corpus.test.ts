import { describe, expect, it } from 'vitest';
import { CONFORMANCE_CASES, FIXTURES } from '../src/index.js';

/** The bad-input corpus every backend runs, by category (printed, and kept from shrinking). */
describe('bad-input corpus', () => {
  const byGroup = (group: string) => FIXTURES.find((f) => f.group === group)!.cases;
  const counts = {
    config: byGroup('configError').length,
    index: byGroup('indexError').filter((c) => c.expect.error === 'INVALID_INDEX').length,
    shape:
      byGroup('indexError').filter((c) => c.expect.error === 'SHAPE_MISMATCH').length +
      byGroup('outputShape').filter((c) => c.expect.error).length,
    weights: byGroup('weights').filter((c) => c.expect.error).length,
    'predict out buffer': CONFORMANCE_CASES.filter((c) => c.id === 'lookup/out-wrong-length').length,
  };

  it('has every category, each with a typed code checked by the suite', () => {
    console.log(`bad-input corpus per category: ${JSON.stringify(counts)} (model files: packages/io/test)`);
    expect(counts.config).toBeGreaterThanOrEqual(50);
    expect(counts.index).toBeGreaterThanOrEqual(19);
    expect(counts.shape).toBeGreaterThanOrEqual(8);
    expect(counts.weights).toBeGreaterThanOrEqual(4);
  });
});
