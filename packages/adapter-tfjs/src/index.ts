export { quietTfjsBanner } from './banner.js';
export type { TfjsRuntime } from './runtime.js';
export { createTfjsBackend, type TfjsBackendName, type TfjsBackendOptions } from './tfjs-backend.js';
