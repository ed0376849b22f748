#!/usr/bin/env node
// Writes ONNX files with @embedding-layer/io's streamed in-model writer (build the package
// first: npx tsup in packages/io), has Python's onnx check them (onnx_oracle.py, with
// /usr/bin/python3 and python3-onnx), and writes onnx-oracle.json beside this script: each
// case's config, index type, the sha256 Python read, the checker's verdict and whether the
// table equals the formula. Run it again after a change to the writer or the builder:
//
//   node packages/io/test/oracle/onnx-oracle.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '@embedding-layer/core';
import { saveEmbedding } from '@embedding-layer/io';

const here = fileURLToPath(new URL('.', import.meta.url));
/** The cases: a table of several 16 MiB chunks, and small ones with every graph variant. */
const CASES = [
  { file: 'multi-chunk.onnx', config: { inputDim: 131077, outputDim: 64, name: 'emb' }, indexType: 'int32' },
  { file: 'one.onnx', config: { inputDim: 1, outputDim: 1, name: 'one' }, indexType: 'int32' },
  { file: 'masked.onnx', config: { inputDim: 4, outputDim: 32, name: 'masked', maskZero: true, inputLength: 7 }, indexType: 'int64' },
  { file: 'renorm.onnx', config: { inputDim: 128, outputDim: 128, name: 'renorm', maxNorm: 1.5, normType: 3 }, indexType: 'int32' },
];

function formulaTable(rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = ((r % 65521) * 8 + c) / 64;
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'onnx-oracle-'));
try {
  const manifest = [];
  for (const c of CASES) {
    const { inputDim, outputDim } = resolveConfig(c.config);
    const path = join(dir, c.file);
    await saveEmbedding(path, { config: c.config, weights: formulaTable(inputDim, outputDim) }, { onnxIndexType: c.indexType });
    manifest.push({ file: c.file, path, rows: inputDim, cols: outputDim });
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ cases: manifest }));
  const python = JSON.parse(
    execFileSync('/usr/bin/python3', [join(here, 'onnx_oracle.py'), join(dir, 'manifest.json')], { encoding: 'utf8' }),
  );
  const onnxVersion = execFileSync('/usr/bin/python3', ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8' }).trim();
  const cases = CASES.map((c, i) => ({ ...c, ...python[i] }));
  writeFileSync(
    join(here, 'onnx-oracle.json'),
    `${JSON.stringify({ oracle: `python3-onnx ${onnxVersion}, onnx.checker full_check`, cases }, null, 2)}\n`,
  );
  for (const c of cases) console.log(`${c.file.padEnd(18)} checker ${c.checker}, table ${c.tableMatches ? 'matches' : 'DIFFERS'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
