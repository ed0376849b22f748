import { describe, expect, it } from 'vitest';
import { pairGoal } from './goals.js';
import {
  formatBenchMarkdown,
  formatBenchSvg,
  formatBytes,
  formatGoalsMarkdown,
  formatMs,
  formatRatio,
  formatWorkloadMarkdown,
  primaryPeer,
  README_MARKERS,
  replaceReadmeSection,
  timeRatio,
} from './report.js';
import { summarize } from './stats.js';
import type { BenchReport, Measurement, Timing } from './types.js';
import { WORKLOADS } from './workloads.js';

const timing = (medianMs: number): Timing => ({
  medianMs,
  p95Ms: medianMs * 1.5,
  meanMs: medianMs,
  minMs: medianMs / 2,
  samples: 10,
  gbps: 81920 / (medianMs * 1e6),
});
const memory = { tableBytes: 256_000, baselineRss: 50e6, createRss: 512_000, peakRss: 1_024_000, peakArrayBuffers: 256_000 };

const results: Measurement[] = [
  {
    target: 'copy',
    kind: 'limit',
    status: 'ok',
    timing: timing(0.002),
    method: 'copyWithin',
    methods: { copyWithin: timing(0.002), 'TypedArray.set': timing(0.04) },
  },
  { target: 'alloc+copy', kind: 'limit', status: 'ok', timing: timing(0.01) },
  {
    target: 'js',
    kind: 'backend',
    status: 'ok',
    createMs: 2.5,
    timing: timing(0.05),
    agrees: true,
    outNote: 'predict(x, { out }) is not in the public API yet',
    memory,
  },
  { target: 'onnx', kind: 'backend', status: 'ok', createMs: 80, timing: timing(0.1), outTiming: timing(0.08), agrees: true, memory },
  {
    target: 'tf.gather@cpu',
    kind: 'peer',
    status: 'ok',
    createMs: 5,
    timing: timing(2),
    agrees: true,
    outNote: 'tf.gather has no output argument',
    memory,
  },
  {
    target: 'ort-session',
    kind: 'peer',
    status: 'ok',
    createMs: 100,
    timing: timing(0.08),
    outTiming: timing(0.07),
    agrees: false,
    memory,
    note: 'default threads',
  },
  { target: 'torch', kind: 'peer', status: 'skipped', note: 'python3 cannot import torch' },
];

const report: BenchReport = {
  version: 1,
  generatedAt: '2026-01-02T03:04:05.000Z',
  machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v20.0.0', platform: 'linux x64', versions: { tinybench: '5.1.0' } },
  seconds: 12.3,
  workloads: [{ workload: WORKLOADS.S, tableBytes: 256_000, outputBytes: 81_920, results }],
};

describe('number formatting', () => {
  it('formats times, bytes and ratios', () => {
    expect(formatMs(0.0021)).toBe('2.10 µs');
    expect(formatMs(12.345)).toBe('12.3 ms');
    expect(formatMs(2500)).toBe('2.50 s');
    expect(formatBytes(81_920)).toBe('81.9 kB');
    expect(formatBytes(1_024_000_000)).toBe('1.02 GB');
    expect(formatRatio(1.234)).toBe('1.23x');
    expect(formatRatio(45.67)).toBe('45.7x');
    expect(formatRatio(1234)).toBe('1234x');
    expect(formatRatio(undefined)).toBe('-');
  });

  it('computes ratios of medians and statistics of samples', () => {
    expect(timeRatio(timing(4), timing(2))).toBe(2);
    expect(timeRatio(timing(4), undefined)).toBeUndefined();
    const s = summarize([5, 1, 3, 2, 4], 1e6);
    expect(s).toMatchObject({ medianMs: 3, minMs: 1, meanMs: 3, samples: 5 });
    expect(s.p95Ms).toBeCloseTo(4.8);
    expect(s.gbps).toBeCloseTo(1e6 / 3e6);
  });

  it('maps each backend to the raw peer it wraps (adapter-js: PyTorch)', () => {
    expect(primaryPeer('js')).toBe('torch');
    expect(primaryPeer('tfjs-cpu')).toBe('tf.gather@cpu');
    expect(primaryPeer('tfjs-wasm')).toBe('tf.gather@wasm');
    expect(primaryPeer('onnx')).toBe('ort-session');
  });
});

describe('markdown report', () => {
  const md = formatWorkloadMarkdown(report.workloads[0]!);
  const row = (target: string) => md.split('\n').find((l) => l.startsWith(`| ${target}`))!;

  it('has one row per target with ratios to the copy limit, to alloc+copy and to the raw peer', () => {
    expect(row('copy limit (copyWithin)')).toContain('| 1.00x | 0.20x |');
    expect(row('js')).toContain('| 2.50 ms | 50.0 µs | 75.0 µs | 1.64 | 25.0x | 5.00x |');
    expect(row('js')).toContain('| torch did not run |');
    expect(row('onnx')).toContain('1.25x ort-session');
    expect(row('onnx')).toContain('80.0 µs (40.0x copy limit)');
    expect(row('js')).toContain('n/a: predict(x, { out }) is not in the public API yet');
  });

  it('shows memory over the table size, skips with their reason, and flags a wrong output', () => {
    expect(row('js')).toContain('| 512 kB (2.00x) | 1.02 MB (4.00x) | 256 kB (1.00x) |');
    expect(row('torch')).toContain('skipped: python3 cannot import torch');
    expect(row('ort-session')).toContain('**(WRONG OUTPUT)**');
  });

  it('lists the machine, the peer-ratio table and what was not measured', () => {
    const full = formatBenchMarkdown(report);
    expect(full).toContain('Machine: Test CPU, 2 cores, 8 GiB, Node v20.0.0, linux x64; tinybench 5.1.0.');
    expect(full).toContain('| workload | backend | tf.gather@cpu | ort-session | torch |');
    expect(full).toContain('| S | onnx | 0.05x | 1.25x | - |');
    expect(full).toContain('- S torch: skipped, python3 cannot import torch');
  });
});

describe('goals table', () => {
  const torch: Measurement = {
    target: 'torch',
    kind: 'peer',
    status: 'ok',
    timing: timing(0.04),
    outTiming: timing(0.02),
    threads: 1,
    memory,
  };
  const tfjs: Measurement = {
    target: 'tfjs-cpu',
    kind: 'backend',
    status: 'ok',
    timing: timing(0.055),
    memory: { ...memory, createRss: 384_000 },
  };
  const jsOut = { ...results[2]!, outTiming: timing(0.004) };
  const withPeers: BenchReport = {
    ...report,
    workloads: [
      { ...report.workloads[0]!, results: [results[0]!, results[1]!, jsOut, tfjs, results[3]!, results[5]!, torch] },
      { ...report.workloads[0]!, workload: WORKLOADS.M, results: [results[0]!, jsOut] },
    ],
  };
  const goals = formatGoalsMarkdown(withPeers).split('\n');

  it('gives each goal as a ratio of medians and marks the missed ones', () => {
    // js 50 µs / torch 40 µs; js out 4 µs / torch out 20 µs; js out 4 µs / copy 2 µs (no goal on S);
    // onnx 100 / ort 80 µs and 80 / 70 µs out; tfjs-cpu 55 / js 50 µs; worst RSS: onnx and js at 512 kB / 256 kB.
    expect(goals[2]).toBe('| S | 1.25x (missed) | 0.20x | 2.00x | 1.25x (missed) | 1.14x (missed) | 1.10x | - | 2.00x js |');
  });

  it('holds M into a buffer to 1.5x the copy limit and L to 1.3x the table in RSS after create', () => {
    expect(goals[3]).toContain('| M | - | - | 2.00x (missed) |');
    const atL = formatGoalsMarkdown({ ...withPeers, workloads: [{ ...withPeers.workloads[0]!, workload: WORKLOADS.L }] }).split('\n');
    expect(atL[2]).toContain('| L | 1.25x (missed) |');
    expect(atL[2]).toContain('| 2.00x (missed) js |');
  });
});

describe('goals from alternating rounds', () => {
  const base = report.workloads[0]!;
  const paired: BenchReport = {
    ...report,
    workloads: [
      {
        ...base,
        workload: WORKLOADS.M,
        results: [results[0]!, { ...results[2]!, outTiming: timing(0.004) }, results[3]!, results[5]!],
        pairs: [
          { ...pairGoal('js', 'out', 'copy', 'fresh'), rounds: 9, ratio: 1.4, min: 1.2, max: 1.7, aMs: 0.7, bMs: 0.5 },
          { ...pairGoal('onnx', 'fresh', 'ort-session', 'fresh'), rounds: 9, ratio: 1.3, min: 1.05, max: 1.5, aMs: 0.13, bMs: 0.1 },
          { ...pairGoal('onnx', 'out', 'ort-session', 'out'), rounds: 0, error: 'ort-session server exited with code 1' },
        ],
      },
    ],
  };
  const md = formatBenchMarkdown(paired);
  const goalRow = formatGoalsMarkdown(paired).split('\n')[2]!;

  it('judges a goal on the median of the rounds, shows their range, and falls back to the medians where a pair did not run', () => {
    // js out / copy: rounds 1.40x (met at M although the medians give 2.00x); onnx / ort: 1.30x
    // (missed, the medians 1.25x); onnx out: no rounds, so the medians' 1.14x.
    expect(goalRow).toBe('| M | - | - | 1.40x (1.20x-1.70x) | 1.30x (1.05x-1.50x) (missed) | 1.14x (missed) | - | - | 2.00x js |');
  });

  it('lists every pair with its per-call times, or why it was not measured, and adds the rounds to the raw-peer column', () => {
    expect(md).toContain('| M | js out | copy | 9 | 700 µs | 500 µs | 1.40x | 1.20x-1.70x |');
    expect(md).toContain('| M | onnx out | ort-session out | 0 | not measured: ort-session server exited with code 1 ||||');
    expect(md.split('\n').find((l) => l.startsWith('| onnx'))).toContain('| 1.25x ort-session (1.30x in rounds) |');
    expect(md).toContain('their calls alternating in rounds');
  });

  it('keeps the ratio-of-medians wording when the run has no rounds', () => {
    expect(formatBenchMarkdown(report)).toContain('Goals (issue 16; each a ratio of two medians of this run;');
    expect(formatBenchMarkdown(report)).not.toContain('Goal ratios in alternating rounds');
  });
});

describe('README section', () => {
  const readme = `# x\n\nbefore\n${README_MARKERS.begin}\nold table\n${README_MARKERS.end}\n\nafter\n`;

  it('replaces only the text between the markers', () => {
    expect(replaceReadmeSection(readme, 'new table\n')).toBe(
      `# x\n\nbefore\n${README_MARKERS.begin}\nnew table\n${README_MARKERS.end}\n\nafter\n`,
    );
  });

  it('refuses a README without the markers', () => {
    expect(() => replaceReadmeSection('# x\n', 'new')).toThrow(/lacks the markers/);
  });
});

describe('svg chart', () => {
  const svg = formatBenchSvg(report);

  it('is one standalone SVG with a bar per measured target and a log axis', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>S js: 25.0x the copy limit</title>');
    expect(svg).toContain('<title>S tf.gather@cpu: 1000x the copy limit</title>');
    expect(svg).not.toContain('S torch');
    for (const tick of ['1x', '10x', '100x', '1000x']) expect(svg).toContain(`>${tick}</text>`);
  });

  it('escapes text', () => {
    const odd = { ...report, machine: { ...report.machine, cpu: 'A<B & "C"' } };
    expect(formatBenchSvg(odd)).toContain('A&lt;B &amp; &quot;C&quot;');
  });
});
