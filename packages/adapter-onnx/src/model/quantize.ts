// float16 and int8 table storage of the ONNX backend: the encoders and decoders live in
// @embedding-layer/core, shared with every backend that stores quantized tables.
export { decodeHalf, decodeInt8, encodeHalf, encodeInt8, halfToFloatTable, quantizeRowInt8, toHalf } from '@embedding-layer/core';

/** How an ONNX backend stores a layer's table. */
export type OnnxStorage = 'float32' | 'float16' | 'int8';
