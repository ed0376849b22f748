/**
 * How an ONNX backend stores a layer's table: float32, or float16 / Keras-int8 / Keras 3's
 * per-channel int4 (two values a byte, `pack_int4` along the last axis) with core's codec
 * (`@embedding-layer/core/backend`).
 */
export type OnnxStorage = 'float32' | 'float16' | 'int8' | 'int4';
