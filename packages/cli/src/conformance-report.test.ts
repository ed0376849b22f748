import { describe, expect, it } from 'vitest';
import {
  type ConformanceMatrix,
  formatMatrixMarkdown,
  formatMatrixText,
  matrixCell,
  matrixPassed,
  summarizeGroups,
} from './conformance-report.js';

const matrix: ConformanceMatrix = {
  generatedAt: '2026-01-01T00:00:00.000Z',
  node: 'v20.0.0',
  cases: [
    { id: 'lookup/a', group: 'lookup', title: 'a' },
    { id: 'lookup/b', group: 'lookup', title: 'b' },
    { id: 'training/c', group: 'training', title: 'c', requires: 'training' },
  ],
  backends: [
    {
      name: 'good',
      supports: { training: true },
      ms: 1200,
      results: [
        { id: 'lookup/a', group: 'lookup', title: 'a', status: 'pass', ms: 1 },
        { id: 'lookup/b', group: 'lookup', title: 'b', status: 'pass', ms: 1 },
        { id: 'training/c', group: 'training', title: 'c', status: 'pass', ms: 1 },
      ],
    },
    {
      name: 'inference',
      supports: { export: ['onnx'] },
      results: [
        { id: 'lookup/a', group: 'lookup', title: 'a', status: 'pass', ms: 1 },
        {
          id: 'lookup/b',
          group: 'lookup',
          title: 'b',
          status: 'fail',
          message: 'ConformanceFailure: output: at 3 expected 0.25, received 0.',
          ms: 1,
        },
        { id: 'training/c', group: 'training', title: 'c', status: 'pass', ms: 1 },
      ],
    },
    { name: 'absent', missing: '@x/adapter not installed' },
  ],
};

describe('conformance matrix', () => {
  it('labels passes, negative checks of a missing capability, failures and missing backends', () => {
    const [a, b, c] = matrix.cases;
    const [good, inference, absent] = matrix.backends;
    expect(matrixCell(c!, good!)).toEqual({ status: 'pass', label: 'pass' });
    expect(matrixCell(c!, inference!)).toEqual({ status: 'negative', label: 'n/a (no training: rejects)' });
    expect(matrixCell(b!, inference!).status).toBe('fail');
    expect(matrixCell(a!, absent!).label).toBe('not installed');
    expect(matrixPassed(matrix)).toBe(false);
  });

  it('summarizes per group', () => {
    const groups = summarizeGroups(matrix);
    expect(groups.get('lookup')!.get('inference')).toEqual({ pass: 1, negative: 0, fail: 1, total: 2 });
    expect(groups.get('training')!.get('inference')).toEqual({ pass: 0, negative: 1, fail: 0, total: 1 });
    expect(groups.get('lookup')!.has('absent')).toBe(false);
  });

  it('prints a text matrix with the failures and their messages', () => {
    const text = formatMatrixText(matrix);
    expect(text.split('\n')[0]).toBe('case        good  inference                   absent');
    expect(text).toContain('training/c  pass  n/a (no training: rejects)  not installed');
    expect(text).toContain('lookup    2/2   1/2 (1 FAIL)     -');
    expect(text).toContain('  lookup/b on inference: ConformanceFailure: output: at 3 expected 0.25, received 0.');
    expect(text).toContain('absent: skipped, @x/adapter not installed');
    expect(text).toContain('good: supports training, 1.2 s');
  });

  it('renders Markdown with the group summary first and every case folded', () => {
    const md = formatMatrixMarkdown(matrix);
    expect(md.startsWith('| group | good | inference | absent |\n| --- | --- | --- | --- |\n| lookup | 2/2 | 1/2 (1 FAIL) | - |')).toBe(
      true,
    );
    expect(md).toContain('| training | 1/1 | 1/1 (1 rejects) | - |');
    expect(md).toContain('| **all 3** | **3/3** | **1 FAIL** | not installed |');
    expect(md).toContain('- `lookup/b` on inference: ConformanceFailure: output: at 3 expected 0.25, received 0.');
    expect(md).toContain('| `training/c` | pass | n/a (no training: rejects) | not installed |');
  });
});
