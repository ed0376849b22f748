import type { Reporter, TestModule } from 'vitest/node';

/**
 * Lists every skipped test by its full title at the end of a run, so a skip is never silent
 * (the dot reporter only counts them). The titles say why: "(skipped: ../shared/fixtures/real/
 * is missing ...)", "(skipped: Debian's package chromium is not installed ...)".
 */
export default class SkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        if (test.result().state === 'skipped') skipped.push(`${module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`);
      }
    }
    if (skipped.length === 0) return;
    const shown = skipped.slice(0, 40);
    process.stdout.write(
      `\n${skipped.length} skipped test(s):\n${shown.map((s) => `  - ${s}`).join('\n')}${skipped.length > shown.length ? `\n  ... and ${skipped.length - shown.length} more` : ''}\n`,
    );
  }
}
