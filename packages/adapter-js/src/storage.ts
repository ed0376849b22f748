/** How a table stores its values: float32 (exact), float16 or int8 (Keras 3's per-row quantization), with core's codec. */
export type Storage = 'float32' | 'float16' | 'int8';

/** Bytes per stored value. */
export const STORAGE_BYTES: Record<Storage, number> = { float32: 4, float16: 2, int8: 1 };
