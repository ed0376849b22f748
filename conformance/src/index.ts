export { CONFORMANCE_CASES, CONFORMANCE_GROUPS } from './cases.js';
export { decodeInput, decodeNumbers, flatten, randomIndices } from './decode.js';
export { expectedKerasConfig, type InputConfig } from './expected-config.js';
export { ConformanceFailure } from './failure.js';
export { FIXTURES } from './fixtures.js';
export { fnv1a, referenceLookup } from './reference.js';
export { type CaseResult, capabilitiesOf, type RunConformanceOptions, runCase, runConformance } from './run.js';
export { checkWithin, isExact, rowMaxes, storageBound, toleranceOf } from './tolerance.js';
export type { BackendFactory, CaseContext, ConformanceCase, FixtureCase, FixtureFile, FixtureInput, FixtureNumber } from './types.js';
