/**
 * Keras's `compute_fans` for the embedding matrix of shape (input_dim, output_dim):
 * fan_in = input_dim, fan_out = output_dim.
 */
export function computeFans(rows: number, cols: number): { fanIn: number; fanOut: number } {
  return { fanIn: rows, fanOut: cols };
}
