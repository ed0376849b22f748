export { KNOWN_BACKENDS, type KnownBackend, type LoadedBackend, loadBackends } from './backends.js';
export { type DemoRow, formatDemo, runDemo, SEED_EXAMPLE } from './demo.js';
