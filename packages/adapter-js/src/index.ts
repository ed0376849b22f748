export { createJsBackend, type JsBackendOptions } from './js-backend.js';
