export { createJsBackend, type JsBackendOptions } from './js-backend.js';
export type { Storage } from './storage.js';
export { availableCores, workersAvailable } from './workers.js';
