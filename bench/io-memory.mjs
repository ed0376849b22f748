#!/usr/bin/env node
// Memory of saving and loading a 1 GiB table with @embedding-layer/io (issue 14): peak RSS of
// each (format, direction) in a child process of its own, on adapter-js.
//
//   npx turbo run build --filter=@embedding-layer/io --filter=@embedding-layer/adapter-js
//   node bench/io-memory.mjs [--rows 1048576] [--dim 256] [--formats safetensors,npy,tfjs,onnx,onnx-external,keras-h5,keras] [--markdown FILE] [--json FILE]
//
// In each child, the baseline RSS is taken after the modules are loaded and a 2x2 layer was
// created, saved and disposed (start-up is not the table's). Then:
//   save: `Embedding.create` from the seeded initializer, then `saveEmbedding(file, layer)`;
//   load: `loadEmbedding(file, { backend })` of a file the parent wrote beforehand (then one lookup).
// Reported over the baseline: the peak RSS of the process (getrusage maxRSS) as "table + N MiB"
// (the peak less the table's bytes: the backend's own table is the floor of any load or save).
// safetensors, .npy, tfjs and ONNX stream through row ranges: 'onnx' is the table inside the model
// (the default under 2 GiB: raw_data read by range from the file, and written between the model's
// other bytes), 'onnx-external' the table as external data; 'keras-h5' (.h5) and 'keras' (.keras) through the HDF5 worker,
// by hyperslab on the file's descriptor. Nothing is asserted: it prints a table and writes the reports.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const MiB = 1024 * 1024;
const EXT = {
  safetensors: 'safetensors',
  npy: 'npy',
  tfjs: 'json',
  onnx: 'onnx',
  'onnx-external': 'onnx',
  'keras-h5': 'h5',
  keras: 'keras',
};
/** Save options per format: 'onnx-external' is ONNX with the table as external data (`<file>.data`). */
const SAVE_OPTIONS = { 'onnx-external': { onnxExternalData: true } };

async function child() {
  const [, , , direction, format, file, rowsText, dimText] = process.argv;
  const rows = Number(rowsText);
  const dim = Number(dimText);
  const { Embedding } = await import('@embedding-layer/core');
  const { createJsBackend } = await import('@embedding-layer/adapter-js');
  const { loadEmbedding, saveEmbedding } = await import('@embedding-layer/io');
  const backend = createJsBackend();
  const warm = await Embedding.create({ inputDim: 2, outputDim: 2 }, { backend });
  const warmFile = `${file}.warm.${EXT[format]}`;
  await saveEmbedding(warmFile, warm, SAVE_OPTIONS[format] ?? {});
  await (await loadEmbedding(warmFile, { backend })).dispose();
  await warm.dispose();
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  const startPeak = process.resourceUsage().maxRSS * 1024;
  const started = performance.now();
  if (direction === 'save') {
    const layer = await Embedding.create({ inputDim: rows, outputDim: dim, seed: 1 }, { backend });
    await saveEmbedding(file, layer, SAVE_OPTIONS[format] ?? {});
  } else {
    const layer = await loadEmbedding(file, { backend });
    await layer.predict([[0, rows - 1]]);
  }
  const seconds = (performance.now() - started) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ baseline, startPeak, peak, seconds }));
}

async function parent() {
  const rows = Number(arg('rows', String(2 ** 20)));
  const dim = Number(arg('dim', '256'));
  const formats = arg('formats', 'safetensors,npy,tfjs,onnx,onnx-external,keras-h5,keras').split(',');
  const tableBytes = rows * dim * 4;
  const dir = mkdtempSync(join(tmpdir(), 'io-memory-'));
  const self = fileURLToPath(import.meta.url);
  const results = [];
  try {
    for (const format of formats) {
      const file = join(dir, `table.${EXT[format]}`);
      for (const direction of ['save', 'load']) {
        const out = execFileSync(process.execPath, ['--expose-gc', self, '--child', direction, format, file, String(rows), String(dim)], {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        });
        const r = JSON.parse(out);
        const overTable = (r.peak - r.baseline - tableBytes) / MiB;
        results.push({
          format,
          direction,
          overTableMiB: Math.round(overTable),
          peakOverBaselineMiB: Math.round((r.peak - r.baseline) / MiB),
          seconds: +r.seconds.toFixed(2),
        });
        console.log(`${format.padEnd(12)} ${direction}  peak = table + ${overTable.toFixed(0)} MiB  (${r.seconds.toFixed(1)} s)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const header = `Table ${rows} x ${dim} float32 = ${(tableBytes / MiB).toFixed(0)} MiB, adapter-js, Node ${process.version}, load average ${load}.`;
  const lines = [
    header,
    '',
    '| format | direction | peak RSS over the baseline | time |',
    '|---|---|---:|---:|',
    ...results.map((r) => `| ${r.format} | ${r.direction} | table + ${r.overTableMiB} MiB | ${r.seconds} s |`),
  ];
  const markdown = arg('markdown');
  if (markdown) writeFileSync(markdown, `${lines.join('\n')}\n`);
  const json = arg('json');
  if (json) writeFileSync(json, `${JSON.stringify({ rows, dim, tableBytes, load, results }, null, 2)}\n`);
}

if (process.argv[2] === '--child') await child();
else await parent();
