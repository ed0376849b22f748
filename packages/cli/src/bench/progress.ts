/** A one-line progress bar on a stream (redrawn in place on a terminal, one line per step otherwise). */
export function progressBar(stream: NodeJS.WriteStream = process.stderr, width = 28): (done: number, total: number, label: string) => void {
  const started = performance.now();
  return (done, total, label) => {
    const filled = total > 0 ? Math.round((done / total) * width) : width;
    const seconds = Math.round((performance.now() - started) / 1000);
    const elapsed = `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${elapsed} ${label}`;
    if (stream.isTTY)
      stream.write(`\r${line.padEnd(stream.columns ? Math.min(stream.columns - 1, 100) : 80)}${done === total ? '\n' : ''}`);
    else stream.write(`${line}\n`);
  };
}
