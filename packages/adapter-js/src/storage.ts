import { halfToFloatTable, quantizeRowInt8, toHalf } from '@embedding-layer/core';

// The float16 and Keras-int8 encoders live in core, shared with adapter-onnx (bit-identical storage).
export { halfToFloatTable, quantizeRowInt8, toHalf };

/** How a sharded table stores its values. */
export type Storage = 'float32' | 'float16' | 'int8';

/** Bytes per stored value. */
export const STORAGE_BYTES: Record<Storage, number> = { float32: 4, float16: 2, int8: 1 };
