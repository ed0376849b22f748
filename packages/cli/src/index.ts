export { describeLoadFailure, KNOWN_BACKENDS, type KnownBackend, type LoadedBackend, loadBackends, missingPackageOf } from './backends.js';
export { type DemoRow, formatDemo, runDemo, SEED_EXAMPLE } from './demo.js';
export { CLI_VERSION, createProgram, runCli } from './program.js';
