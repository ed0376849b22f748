export { CONFORMANCE_CASES, CONFORMANCE_GROUPS } from './cases.js';
export { decodeInput, decodeNumbers, flatten, randomIndices } from './decode.js';
export { ConformanceFailure } from './failure.js';
export { FIXTURES } from './fixtures.js';
export { fnv1a, referenceLookup } from './reference.js';
export { type CaseResult, type RunConformanceOptions, runConformance } from './run.js';
export type { BackendFactory, CaseContext, ConformanceCase, FixtureCase, FixtureFile, FixtureInput, FixtureNumber } from './types.js';
