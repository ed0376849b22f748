import type { RowSource } from '../spec/v2/embedding-backend-v2.js';
import { rowSource } from './rows.js';

/** `source` with row `row` read as zeros: PyTorch's `padding_idx` row of a freshly initialized table. */
export function withZeroRow(source: RowSource, row: number): RowSource {
  const d = source.outputDim;
  return rowSource(source.rows, d, async (start, count) => {
    const rows = await source.read(start, count);
    if (row >= start && row < start + count) rows.fill(0, (row - start) * d, (row - start + 1) * d);
    return rows;
  });
}
