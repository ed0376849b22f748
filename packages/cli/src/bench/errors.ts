/** The most telling line of a crashed child's stderr: the thrown error's line, else the last line. */
export function errorSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('at ') && !/^Node\.js v/.test(l));
  return (
    lines.find((l) => /^(\w*Error|RangeError|TypeError|RuntimeError|FATAL|#)/.test(l) || /out of memory|heap limit/i.test(l)) ??
    lines.pop() ??
    ''
  );
}
