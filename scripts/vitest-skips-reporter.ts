import type { Reporter, TestModule } from 'vitest/node';

/**
 * Lists the skipped tests at the end of a run, so a skip is never silent (the dot reporter only
 * counts them): a skip for a missing prerequisite, whose describe title says why ("(skipped:
 * ../shared/fixtures/real/ is missing ...)", "(skipped: Debian's package chromium is not
 * installed ...)"), once per reason; other skips (a capability the backend does not declare)
 * as a count per file.
 */
export default class SkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const reasoned: string[] = [];
    const counted = new Map<string, number>();
    for (const module of testModules) {
      const file = module.moduleId.replace(`${process.cwd()}/`, '');
      for (const test of module.children.allTests()) {
        if (test.result().state !== 'skipped') continue;
        // A skip for a missing prerequisite says so in its title ("(skipped: ...)"): shown in full.
        if (/\(skipped: /.test(test.fullName)) reasoned.push(`${file} > ${test.fullName}`);
        else counted.set(file, (counted.get(file) ?? 0) + 1);
      }
    }
    const lines: string[] = [];
    // One line per missing prerequisite (the describe that says why), however many tests it holds.
    const byReason = new Map<string, number>();
    for (const r of reasoned) {
      const end = r.indexOf(' > ', r.indexOf('(skipped: '));
      const key = end < 0 ? r : r.slice(0, end);
      byReason.set(key, (byReason.get(key) ?? 0) + 1);
    }
    for (const [reason, n] of byReason) lines.push(`  - ${reason}: ${n} test(s)`);
    for (const [file, n] of counted) lines.push(`  - ${file}: ${n} test(s) skipped by the backend's declared capabilities`);
    if (lines.length > 0) process.stdout.write(`\nSkipped:\n${lines.join('\n')}\n`);
  }
}
