/** How a table stores its values on the GPU: float32 (exact), float16 or int8 with core's codec. */
export type WebGpuStorage = 'float32' | 'float16' | 'int8';

/**
 * Where each row of a table lives: rows are packed in 32-bit words (float16: two values a
 * word, int8: one float32 scale word then four values a word, each row padded to whole
 * words), and the rows are split into buffers of `rowsPerSplit` rows, so that no buffer (one
 * binding) passes the limit.
 */
export interface TableLayout {
  readonly rows: number;
  readonly outputDim: number;
  readonly storage: WebGpuStorage;
  /** 32-bit words per stored row. */
  readonly rowWords: number;
  /** Rows per buffer (the last buffer may hold fewer). */
  readonly rowsPerSplit: number;
  /** Number of buffers. */
  readonly splits: number;
}

/** 32-bit words one row of `outputDim` values takes in `storage`. */
export function rowWords(storage: WebGpuStorage, outputDim: number): number {
  if (storage === 'float32') return outputDim;
  if (storage === 'float16') return Math.ceil(outputDim / 2);
  return 1 + Math.ceil(outputDim / 4);
}

/**
 * The layout of a `rows x outputDim` table whose buffers hold at most `maxBindingBytes` each
 * (at least one row each), or null when one row alone is larger than `bindingLimit`, the
 * device's own limit.
 */
export function tableLayout(
  rows: number,
  outputDim: number,
  storage: WebGpuStorage,
  maxBindingBytes: number,
  bindingLimit: number,
): TableLayout | null {
  const words = rowWords(storage, outputDim);
  const rowBytes = words * 4;
  if (rowBytes > bindingLimit) return null;
  const rowsPerSplit = rowBytes === 0 ? Math.max(rows, 1) : Math.max(1, Math.min(rows, Math.floor(maxBindingBytes / rowBytes)));
  return { rows, outputDim, storage, rowWords: words, rowsPerSplit, splits: Math.max(1, Math.ceil(rows / rowsPerSplit)) };
}

/** Rows held by split `s`. */
export function splitRows(layout: TableLayout, s: number): number {
  return Math.max(0, Math.min(layout.rowsPerSplit, layout.rows - s * layout.rowsPerSplit));
}
