import { type PairGoal, pairGoal, resultOf, sideTiming } from './goals.js';
import type { BenchReport, Measurement, Timing, WorkloadResult } from './types.js';

import { TARGETS } from './workloads.js';

/** A time in ms as µs, ms or s with 3 significant digits. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

/** Bytes in decimal units (kB, MB, GB). */
export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs < 1e3) return `${bytes} B`;
  if (abs < 1e6) return `${(bytes / 1e3).toPrecision(3)} kB`;
  if (abs < 1e9) return `${(bytes / 1e6).toPrecision(3)} MB`;
  return `${(bytes / 1e9).toPrecision(3)} GB`;
}

/** A ratio as `1.23x` (2 decimals under 10, 1 under 100, none above). */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '-';
  if (ratio < 10) return `${ratio.toFixed(2)}x`;
  if (ratio < 100) return `${ratio.toFixed(1)}x`;
  return `${ratio.toFixed(0)}x`;
}

/** Median time of `a` over median time of `b` (how many times slower `a` is); undefined when either is missing. */
export function timeRatio(a: Timing | undefined, b: Timing | undefined): number | undefined {
  return a && b && b.medianMs > 0 ? a.medianMs / b.medianMs : undefined;
}

/** The raw peer a backend is compared with in the "x raw peer" column (the first peer listing it). */
export function primaryPeer(backend: string): string | undefined {
  return TARGETS.find((t) => t.kind === 'peer' && t.peerOf?.includes(backend))?.id;
}

/** Peers and backends of the report, in target order. */
function idsOf(report: BenchReport, kind: 'peer' | 'backend'): string[] {
  return TARGETS.filter((t) => t.kind === kind && report.workloads.some((w) => w.results.some((r) => r.target === t.id))).map((t) => t.id);
}

function machineLine(report: BenchReport): string {
  const m = report.machine;
  const versions = Object.entries(m.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}${versions ? `; ${versions}` : ''}${m.revision ? `; source ${m.revision}` : ''}. Run ${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(report.seconds)} s${m.loadAverage ? `, load average at the end ${m.loadAverage.join(' / ')} (1/5/15 min)` : ''}.`;
}

function memoryCell(bytes: number | undefined, tableBytes: number): string {
  if (bytes === undefined) return '-';
  return `${formatBytes(bytes)} (${formatRatio(bytes / tableBytes)})`;
}

function label(m: Measurement): string {
  if (m.target === 'copy') return `copy limit${m.method ? ` (${m.method})` : ''}`;
  if (m.target === 'alloc+copy') return 'alloc+copy';
  return m.target;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function workloadTitle(w: WorkloadResult): string {
  const { workload: k } = w;
  const n = (x: number) => x.toLocaleString('en-US');
  return `**${k.name}**: table ${n(k.inputDim)} x ${n(k.outputDim)} (${formatBytes(w.tableBytes)}), indices ${n(k.batch)} x ${n(k.sequence)}, output ${formatBytes(w.outputBytes)} per lookup; ${k.iterations}+ calls${k.time > 0 ? ` and ${k.time}+ ms` : ''} after ${k.warmupIterations} warm-up call(s)`;
}

/** One workload's table in Markdown. */
export function formatWorkloadMarkdown(w: WorkloadResult): string {
  const copy = resultOf(w, 'copy')?.timing;
  const alloc = resultOf(w, 'alloc+copy')?.timing;
  const lines = [
    workloadTitle(w),
    '',
    '| target | create | median | p95 | GB/s | x copy limit | x alloc+copy | x raw peer | caller-provided output | RSS after create (x table) | peak RSS (x table) | peak ArrayBuffers (x table) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |',
  ];
  for (const m of w.results) {
    if (m.status !== 'ok' || !m.timing) {
      lines.push(`| ${label(m)} | ${m.status}: ${escapeCell(m.note ?? '')} |||||||||||`);
      continue;
    }
    const t = m.timing;
    const peer = m.kind === 'backend' ? primaryPeer(m.target) : undefined;
    const peerTiming = peer ? resultOf(w, peer)?.timing : undefined;
    const paired = w.pairs?.find((p) => p.id === `${m.target}/${peer}`)?.ratio;
    const peerCell = peer
      ? peerTiming
        ? `${formatRatio(timeRatio(t, peerTiming))} ${peer}${paired !== undefined ? ` (${formatRatio(paired)} in rounds)` : ''}`
        : `${peer} did not run`
      : '';
    const outCell = m.outTiming
      ? `${formatMs(m.outTiming.medianMs)} (${formatRatio(timeRatio(m.outTiming, copy))} copy limit)`
      : m.kind === 'limit'
        ? ''
        : `n/a: ${escapeCell(m.outNote ?? 'not measured')}`;
    const mem = m.memory;
    const flag = m.agrees === false ? ' **(WRONG OUTPUT)**' : '';
    lines.push(
      `| ${label(m)}${flag} | ${m.createMs !== undefined ? formatMs(m.createMs) : ''} | ${formatMs(t.medianMs)} | ${formatMs(t.p95Ms)} | ${t.gbps.toFixed(2)} | ${formatRatio(timeRatio(t, copy))} | ${formatRatio(timeRatio(t, alloc))} | ${peerCell} | ${outCell} | ${memoryCell(mem?.createRss, w.tableBytes)} | ${memoryCell(mem?.peakRss, w.tableBytes)} | ${mem && m.target !== 'torch' ? memoryCell(mem.peakArrayBuffers, w.tableBytes) : '-'} |`,
    );
  }
  const notes = w.results.filter((m) => m.status === 'ok' && m.note).map((m) => `- ${m.target}: ${m.note}`);
  if (notes.length > 0) lines.push('', ...notes);
  return lines.join('\n');
}

/** Every backend against every raw peer, per workload: median time ratios. */
export function formatPeerRatiosMarkdown(report: BenchReport): string {
  const peers = idsOf(report, 'peer');
  const backends = idsOf(report, 'backend');
  const lines = [`| workload | backend | ${peers.join(' | ')} |`, `| --- | --- | ${peers.map(() => '---:').join(' | ')} |`];
  for (const w of report.workloads) {
    for (const b of backends) {
      const t = resultOf(w, b)?.timing;
      if (!t) continue;
      lines.push(`| ${w.workload.name} | ${b} | ${peers.map((p) => formatRatio(timeRatio(t, resultOf(w, p)?.timing))).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

function goalCell(value: number | undefined, ok: (v: number) => boolean): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return `${formatRatio(value)}${ok(value) ? '' : ' (missed)'}`;
}

/** The largest "RSS after create" over the table among the backends, with the backend's name. */
function worstCreateRss(w: WorkloadResult): { target: string; ratio: number } | undefined {
  let worst: { target: string; ratio: number } | undefined;
  for (const m of w.results) {
    if (m.kind !== 'backend' || m.status !== 'ok' || !m.memory) continue;
    const ratio = m.memory.createRss / w.tableBytes;
    if (!worst || ratio > worst.ratio) worst = { target: m.target, ratio };
  }
  return worst;
}

/**
 * A goal's cell: the paired measurement when the run has one (median of per-round ratios, the
 * range of the rounds in parentheses), else the ratio of the two sides' medians in the targets'
 * own runs; marked "(missed)" where the goal does not hold.
 */
function pairedGoalCell(w: WorkloadResult, goal: PairGoal, ok: (v: number) => boolean): string {
  const pair = w.pairs?.find((p) => p.id === goal.id);
  if (pair?.ratio === undefined) return goalCell(timeRatio(sideTiming(w, goal.a), sideTiming(w, goal.b)), ok);
  return `${formatRatio(pair.ratio)} (${formatRatio(pair.min)}-${formatRatio(pair.max)})${ok(pair.ratio) ? '' : ' (missed)'}`;
}

/**
 * The performance goals of issue 16, one row per workload, marked "(missed)" where the goal
 * does not hold: adapter-js against PyTorch (fresh output, and into a caller's buffer against
 * `index_select(out=)`), adapter-js into a buffer over the copy limit (M: at most 1.5x),
 * adapter-onnx over a bare ORT session (at most 1.1x), adapter-tfjs cpu over adapter-js (at most
 * 1.2x), tf.gather@wasm over adapter-tfjs wasm (at least 5x), and the largest RSS after create
 * over the table (at L: at most 1.3x). A ratio of two targets comes from the paired rounds
 * (`WorkloadResult.pairs`) where the run has them, else from the two targets' own medians.
 */
export function formatGoalsMarkdown(report: BenchReport): string {
  const lines = [
    '| workload | js / torch | js out / torch out= | js out / copy limit (M: <= 1.5) | onnx / ort-session | onnx out / ort-session out | tfjs-cpu / js | tf.gather@wasm / tfjs-wasm | RSS after create / table, worst backend (L: <= 1.3) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const w of report.workloads) {
    const copyGoal = w.workload.name === 'M' ? (v: number) => v <= 1.5 : () => true;
    // The memory goal is L's (a 1 GB table); on smaller tables the runtime's own footprint dominates.
    const rssGoal = w.workload.name === 'L' ? (v: number) => v <= 1.3 : () => true;
    const rss = worstCreateRss(w);
    lines.push(
      `| ${w.workload.name} | ${[
        pairedGoalCell(w, pairGoal('js', 'fresh', 'torch', 'fresh'), (v) => v <= 1),
        pairedGoalCell(w, pairGoal('js', 'out', 'torch', 'out'), (v) => v <= 1),
        pairedGoalCell(w, pairGoal('js', 'out', 'copy', 'fresh'), copyGoal),
        pairedGoalCell(w, pairGoal('onnx', 'fresh', 'ort-session', 'fresh'), (v) => v <= 1.1),
        pairedGoalCell(w, pairGoal('onnx', 'out', 'ort-session', 'out'), (v) => v <= 1.1),
        pairedGoalCell(w, pairGoal('tfjs-cpu', 'fresh', 'js', 'fresh'), (v) => v <= 1.2),
        pairedGoalCell(w, pairGoal('tf.gather@wasm', 'fresh', 'tfjs-wasm', 'fresh'), (v) => v >= 5),
        rss ? `${goalCell(rss.ratio, rssGoal)} ${rss.target}` : '-',
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** The paired rounds of every workload: each side's median call time, the ratio and its range, or why a pair did not run. */
export function formatPairsMarkdown(report: BenchReport): string {
  const side = (s: { target: string; mode: string }) => `${s.target}${s.mode === 'out' ? ' out' : ''}`;
  const lines = [
    '| workload | a | b | rounds | a per call | b per call | a / b (median of rounds) | range of rounds |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const w of report.workloads) {
    for (const p of w.pairs ?? []) {
      if (p.ratio === undefined) {
        lines.push(`| ${w.workload.name} | ${side(p.a)} | ${side(p.b)} | 0 | not measured: ${escapeCell(p.error ?? '')} ||||`);
        continue;
      }
      lines.push(
        `| ${w.workload.name} | ${side(p.a)} | ${side(p.b)} | ${p.rounds} | ${formatMs(p.aMs!)} | ${formatMs(p.bMs!)} | ${formatRatio(p.ratio)} | ${formatRatio(p.min)}-${formatRatio(p.max)} |`,
      );
    }
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

/** The whole report in Markdown: machine, how to read it, one table per workload, the peer ratios, and what was skipped. */
export function formatBenchMarkdown(report: BenchReport): string {
  const skipped = report.workloads.flatMap((w) =>
    w.results.filter((m) => m.status !== 'ok').map((m) => `- ${w.workload.name} ${m.target}: ${m.status}, ${m.note ?? ''}`),
  );
  const uniqueSkips = [...new Set(skipped)];
  const parts = [
    machineLine(report),
    '',
    'Times are medians (and p95) over the calls tinybench measured after warm-up; each target runs in its own process.',
    '"x copy limit" = median time / the median time of copying the same number of output bytes into a preallocated buffer',
    '(1.00x would be as fast as memcpy; higher is slower); "x alloc+copy" = the same against allocating a fresh output and',
    'copying into it, which is what an API returning a fresh array must at least do. "x raw peer" compares a backend with',
    'the bare runtime call it wraps (tf.gather, an ORT session). Memory is over the table bytes. "RSS after create" is what',
    "creating the layer added to RSS, the caller's source table (already resident) not counted: a layer that keeps its own",
    "copy shows about 1x, one that shares the caller's array (torch's from_pretrained) about 0x. Peak RSS and peak",
    "ArrayBuffers are from a baseline taken after the runtime loaded: they include the caller's table (1x) and live outputs.",
    '"caller-provided output": our layers write into `layer.allocateOutput(shape)` (adapter-js places it in the table\'s',
    "WebAssembly memory, where rows are written in one pass; the other backends return a plain Float32Array), as torch's",
    '`out=` takes a tensor torch allocated; the peers write into a plain Float32Array.',
    '',
  ];
  const pairs = formatPairsMarkdown(report);
  parts.push(
    pairs
      ? 'Goals (issue 16): a ratio of two targets is measured with both alive, each in its own process, their calls alternating in rounds (the order swapped every round, a warm-up round first), so that a change of the host\'s speed moves both sides alike: the median of the per-round ratios, the range of the rounds in parentheses (the rounds are listed after the workloads); "out" = into a caller-provided buffer; "(missed)" where the goal does not hold:'
      : 'Goals (issue 16; each a ratio of two medians of this run; "out" = into a caller-provided buffer; "(missed)" where the goal does not hold):',
    '',
    formatGoalsMarkdown(report),
    '',
  );
  for (const w of report.workloads) parts.push(formatWorkloadMarkdown(w), '');
  parts.push('Backends against each raw peer (median time of the backend / median time of the peer; below 1 is faster):', '');
  parts.push(formatPeerRatiosMarkdown(report));
  if (pairs)
    parts.push('', 'Goal ratios in alternating rounds (mean wall time per call in each round; the medians over rounds):', '', pairs);
  if (uniqueSkips.length > 0) parts.push('', 'Not measured:', '', ...uniqueSkips);
  return parts.join('\n');
}

/** The markers around the generated benchmark section of a README. */
export const README_MARKERS = {
  begin: '<!-- bench:begin (written by embedding-layer bench --readme) -->',
  end: '<!-- bench:end -->',
} as const;

/**
 * `readme` with the text between {@link README_MARKERS} replaced by `section` (the markers
 * stay); throws when the markers are missing or out of order, so a README is never appended to blindly.
 */
export function replaceReadmeSection(readme: string, section: string): string {
  const from = readme.indexOf(README_MARKERS.begin);
  const to = readme.indexOf(README_MARKERS.end);
  if (from < 0 || to < from) throw new Error(`the README lacks the markers ${README_MARKERS.begin} ... ${README_MARKERS.end}`);
  return `${readme.slice(0, from + README_MARKERS.begin.length)}\n${section.trim()}\n${readme.slice(to)}`;
}

const COLORS: Readonly<Record<string, string>> = {
  js: '#1f77b4',
  'tfjs-cpu': '#ff7f0e',
  'tfjs-wasm': '#2ca02c',
  onnx: '#d62728',
  'tf.gather@cpu': '#ffbb78',
  'tf.gather@wasm': '#98df8a',
  'tf.layers.embedding@cpu': '#c49c94',
  'tf.layers.embedding@wasm': '#c5b0d5',
  'ort-session': '#ff9896',
  torch: '#9467bd',
  'alloc+copy': '#7f7f7f',
};

function xml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/**
 * A grouped bar chart (hand-written SVG): per workload, each backend's and peer's median time
 * over the copy limit's, on a log scale (1x = as fast as copying the output bytes).
 */
export function formatBenchSvg(report: BenchReport): string {
  const series = ['alloc+copy', ...idsOf(report, 'backend'), ...idsOf(report, 'peer')].filter((id) =>
    report.workloads.some((w) => resultOf(w, id)?.timing && resultOf(w, 'copy')?.timing),
  );
  const values = report.workloads.map((w) => series.map((id) => timeRatio(resultOf(w, id)?.timing, resultOf(w, 'copy')?.timing)));
  const max = Math.max(2, ...values.flat().filter((v): v is number => v !== undefined));
  const decades = Math.max(1, Math.ceil(Math.log10(max)));
  const width = 980;
  const height = 460;
  const left = 70;
  const right = 190;
  const top = 50;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const y = (v: number) => top + plotH - (Math.log10(Math.max(v, 1)) / decades) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${left}" y="22" font-size="15" font-weight="bold">Embedding lookup: median time / copy limit (log scale, lower is better; 1x = memcpy of the output)</text>`,
  );
  out.push(
    `<text x="${left}" y="40" fill="#555">${xml(`${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, ${report.generatedAt.slice(0, 10)}`)}</text>`,
  );
  for (let d = 0; d <= decades; d++) {
    for (const m of d < decades ? [1, 2, 5] : [1]) {
      const v = m * 10 ** d;
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="${m === 1 ? '#bbb' : '#eee'}"/>`);
      out.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#333">${v}x</text>`);
    }
  }
  const groupW = plotW / Math.max(1, report.workloads.length);
  const barW = Math.max(3, Math.min(22, (groupW * 0.85) / Math.max(1, series.length)));
  report.workloads.forEach((w, gi) => {
    const x0 = left + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach((id, si) => {
      const v = values[gi]![si];
      if (v === undefined) return;
      const x = x0 + si * barW;
      const yy = y(v);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(top + plotH - yy).toFixed(1)}" fill="${COLORS[id] ?? '#999'}"><title>${xml(`${w.workload.name} ${id}: ${formatRatio(v)} the copy limit`)}</title></rect>`,
      );
      out.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(yy - 3).toFixed(1)}" text-anchor="middle" font-size="8" fill="#333">${v < 10 ? v.toFixed(1) : v.toFixed(0)}</text>`,
      );
    });
    const k = w.workload;
    out.push(
      `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" font-weight="bold">${k.name}</text>`,
    );
    out.push(
      `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 34}" text-anchor="middle" fill="#555">${xml(`${k.inputDim.toLocaleString('en-US')}x${k.outputDim}, ${k.batch}x${k.sequence}`)}</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  series.forEach((id, si) => {
    const ly = top + 10 + si * 18;
    out.push(`<rect x="${left + plotW + 16}" y="${ly - 9}" width="12" height="12" fill="${COLORS[id] ?? '#999'}"/>`);
    out.push(`<text x="${left + plotW + 34}" y="${ly + 1}">${xml(id)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
