/** How a table stores its values: float32 (exact), float16, int8 or int4 (Keras 3's per-row quantizations), with core's codec. */
export type Storage = 'float32' | 'float16' | 'int8' | 'int4';

/** Bytes per stored value (int4: two values per byte, a row rounded up to whole bytes). */
export const STORAGE_BYTES: Record<Storage, number> = { float32: 4, float16: 2, int8: 1, int4: 0.5 };
