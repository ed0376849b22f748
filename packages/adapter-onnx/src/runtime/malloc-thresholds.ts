// Moved to @embedding-layer/core/backend (adapter-js and adapter-tfjs call it too): one primer
// per process, whichever adapter runs it first.
export { MALLOC_PRIMER_BYTES, raiseMallocThresholds } from '@embedding-layer/core/backend';
