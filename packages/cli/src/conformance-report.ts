import type { CaseResult } from '@embedding-layer/conformance';

/** A case as the matrix lists it. */
export interface MatrixCase {
  id: string;
  group: string;
  title: string;
  /** The capability the case needs; a backend without it is checked negatively (calls must reject). */
  requires?: string;
}

/** One column of the matrix: a backend that ran, or one that could not be loaded. */
export interface MatrixBackend {
  name: string;
  /** The backend's capability manifest (as core reads it: a v1 manifest in v2 terms), when it loaded. */
  supports?: Readonly<Record<string, unknown>>;
  /** Why the backend did not run (not installed, failed to load). */
  missing?: string;
  /** One result per case that ran, in case order. */
  results?: CaseResult[];
  /** Wall time of the whole run on this backend, in milliseconds. */
  ms?: number;
}

/** Everything `embedding-layer conformance` measured; also its `--json` output. */
export interface ConformanceMatrix {
  generatedAt: string;
  node: string;
  cases: MatrixCase[];
  backends: MatrixBackend[];
}

/** How one case came out on one backend. */
export type CellStatus = 'pass' | 'negative' | 'fail' | 'missing' | 'not-run';

/** One cell of the matrix. */
export interface MatrixCell {
  status: CellStatus;
  /** What the cell prints: `pass`, `FAIL`, `n/a (no training: rejects)`, ... */
  label: string;
  message?: string;
}

function supportsCapability(supports: Readonly<Record<string, unknown>> | undefined, capability: string): boolean {
  const value = supports?.[capability];
  return Array.isArray(value) ? value.length > 0 : Boolean(value);
}

/** The cell of `testCase` on `backend`: a capability-gated case on a backend lacking it passes as a negative check. */
export function matrixCell(testCase: MatrixCase, backend: MatrixBackend): MatrixCell {
  if (backend.missing !== undefined) return { status: 'missing', label: 'not installed' };
  const result = backend.results?.find((r) => r.id === testCase.id);
  if (!result) return { status: 'not-run', label: '-' };
  const gated = testCase.requires !== undefined && !supportsCapability(backend.supports, testCase.requires);
  // A case the backend's declared capabilities exclude (e.g. bit patterns on int8 storage) is skipped with its reason.
  if (result.status === 'skip')
    return { status: 'negative', label: 'n/a (skipped)', ...(result.message === undefined ? {} : { message: result.message }) };
  if (result.status === 'fail') {
    return {
      status: 'fail',
      label: gated ? `FAIL (no ${testCase.requires}: must reject)` : 'FAIL',
      ...(result.message === undefined ? {} : { message: result.message }),
    };
  }
  return gated ? { status: 'negative', label: `n/a (no ${testCase.requires}: rejects)` } : { status: 'pass', label: 'pass' };
}

/** Counts of one group on one backend. */
export interface GroupSummary {
  pass: number;
  negative: number;
  fail: number;
  total: number;
}

/** Per group (in case order) and per backend, how many cases passed, were checked negatively, or failed. */
export function summarizeGroups(matrix: ConformanceMatrix): Map<string, Map<string, GroupSummary>> {
  const groups = new Map<string, Map<string, GroupSummary>>();
  for (const c of matrix.cases) {
    const row = groups.get(c.group) ?? new Map<string, GroupSummary>();
    groups.set(c.group, row);
    for (const b of matrix.backends) {
      const cell = matrixCell(c, b);
      if (cell.status === 'missing' || cell.status === 'not-run') continue;
      const s = row.get(b.name) ?? { pass: 0, negative: 0, fail: 0, total: 0 };
      s.total++;
      if (cell.status === 'fail') s.fail++;
      else if (cell.status === 'negative') s.negative++;
      else s.pass++;
      row.set(b.name, s);
    }
  }
  return groups;
}

/** Every failing cell, in case order then backend order. */
export function matrixFailures(matrix: ConformanceMatrix): { caseId: string; backend: string; message: string }[] {
  const out: { caseId: string; backend: string; message: string }[] = [];
  for (const c of matrix.cases)
    for (const b of matrix.backends) {
      const cell = matrixCell(c, b);
      if (cell.status === 'fail') out.push({ caseId: c.id, backend: b.name, message: cell.message ?? '(no message)' });
    }
  return out;
}

/** True when every backend that ran passed every case (negative checks count as passes) and at least one ran. */
export function matrixPassed(matrix: ConformanceMatrix): boolean {
  return matrix.backends.some((b) => b.results !== undefined) && matrixFailures(matrix).length === 0;
}

function summaryLabel(s: GroupSummary | undefined): string {
  if (!s) return '-';
  if (s.fail > 0) return `${s.total - s.fail}/${s.total} (${s.fail} FAIL)`;
  return s.negative > 0 ? `${s.total}/${s.total} (${s.negative} rejects)` : `${s.total}/${s.total}`;
}

function capabilityLine(b: MatrixBackend): string {
  if (b.missing !== undefined) return `${b.name}: skipped, ${b.missing}`;
  const show = (v: unknown): string =>
    Array.isArray(v)
      ? v.map(show).join('/')
      : typeof v === 'object' && v !== null
        ? `{${Object.entries(v)
            .map(([k, x]) => `${k}: ${show(x)}`)
            .join(', ')}}`
        : String(v);
  const caps = Object.entries(b.supports ?? {})
    .filter(([, v]) => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => (v === true ? k : `${k}=${show(v)}`));
  const time = b.ms === undefined ? '' : `, ${(b.ms / 1000).toFixed(1)} s`;
  return `${b.name}: supports ${caps.length > 0 ? caps.join(', ') : 'nothing optional'}${time}`;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!;
}

/** The matrix as plain text for a terminal: case rows by backend columns, the per-group summary, then the failures. */
export function formatMatrixText(matrix: ConformanceMatrix): string {
  const ran = matrix.backends;
  const idWidth = Math.max(4, ...matrix.cases.map((c) => c.id.length));
  const width = (b: MatrixBackend) => Math.max(b.name.length, ...matrix.cases.map((c) => matrixCell(c, b).label.length));
  const widths = ran.map(width);
  const lines: string[] = [];
  lines.push(`${'case'.padEnd(idWidth)}  ${ran.map((b, i) => b.name.padEnd(widths[i]!)).join('  ')}`.trimEnd());
  for (const c of matrix.cases) {
    lines.push(`${c.id.padEnd(idWidth)}  ${ran.map((b, i) => matrixCell(c, b).label.padEnd(widths[i]!)).join('  ')}`.trimEnd());
  }
  lines.push('', 'Per group (passed/total; "rejects" = capability absent, calls checked to reject with UNSUPPORTED_FEATURE):');
  const groups = summarizeGroups(matrix);
  const groupWidth = Math.max(5, ...[...groups.keys()].map((g) => g.length));
  const sWidths = ran.map((b) => Math.max(b.name.length, ...[...groups.values()].map((row) => summaryLabel(row.get(b.name)).length)));
  lines.push(`${'group'.padEnd(groupWidth)}  ${ran.map((b, i) => b.name.padEnd(sWidths[i]!)).join('  ')}`.trimEnd());
  for (const [group, row] of groups) {
    lines.push(`${group.padEnd(groupWidth)}  ${ran.map((b, i) => summaryLabel(row.get(b.name)).padEnd(sWidths[i]!)).join('  ')}`.trimEnd());
  }
  lines.push('', ...ran.map(capabilityLine));
  const failures = matrixFailures(matrix);
  if (failures.length > 0) {
    lines.push('', `${failures.length} failure(s):`);
    for (const f of failures) lines.push(`  ${f.caseId} on ${f.backend}: ${f.message}`);
  } else if (matrixPassed(matrix)) {
    lines.push('', `All ${matrix.cases.length} cases pass on ${ran.filter((b) => b.results).length} backend(s).`);
  }
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/**
 * The matrix as Markdown: the per-group summary table, the backends' capabilities, the
 * failures, and the full case-by-backend table (folded in a `<details>` block).
 */
export function formatMatrixMarkdown(matrix: ConformanceMatrix): string {
  const ran = matrix.backends;
  const header = (first: string) => [
    `| ${first} | ${ran.map((b) => b.name).join(' | ')} |`,
    `| --- | ${ran.map(() => '---').join(' | ')} |`,
  ];
  const lines: string[] = [];
  lines.push(...header('group'));
  for (const [group, row] of summarizeGroups(matrix))
    lines.push(`| ${group} | ${ran.map((b) => summaryLabel(row.get(b.name))).join(' | ')} |`);
  const total = matrix.cases.length;
  lines.push(
    `| **all ${total}** | ${ran
      .map((b) => {
        const cells = matrix.cases.map((c) => matrixCell(c, b).status);
        if (b.missing !== undefined) return 'not installed';
        const fail = cells.filter((s) => s === 'fail').length;
        return fail > 0 ? `**${fail} FAIL**` : `**${cells.filter((s) => s === 'pass' || s === 'negative').length}/${total}**`;
      })
      .join(' | ')} |`,
  );
  lines.push('', ...ran.map((b) => `- ${capabilityLine(b)}`));
  const failures = matrixFailures(matrix);
  if (failures.length > 0) {
    lines.push('', 'Failures:', '');
    for (const f of failures) lines.push(`- \`${f.caseId}\` on ${f.backend}: ${escapeCell(firstLine(f.message))}`);
  }
  lines.push('', '<details><summary>Every case</summary>', '');
  lines.push(...header('case'));
  for (const c of matrix.cases) lines.push(`| \`${c.id}\` | ${ran.map((b) => escapeCell(matrixCell(c, b).label)).join(' | ')} |`);
  lines.push('', '</details>');
  return lines.join('\n');
}
