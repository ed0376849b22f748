/** How an ONNX backend stores a layer's table: float32, or float16 / Keras-int8 with core's codec (`@embedding-layer/core/backend`). */
export type OnnxStorage = 'float32' | 'float16' | 'int8';
