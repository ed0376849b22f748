// Peak memory of whole-table operations on a 1 GiB table (2^22 rows x 64 float32), each in its
// own child process so each peak is its own: `maxRSS` over the RSS before the table existed.
// Usage: node bench/memory.mjs [rows] (after `npm run build`). Prints one line per operation.
//
// Spec v2 moves tables in 16 MiB row ranges: creation streams the seeded initializer into the
// table, getWeights assembles its result from row ranges, setWeights writes the caller's array
// a range at a time. So: create ~ table, getWeights ~ table + result, setWeights ~ table (+ the
// caller's array, which the caller holds anyway), readRows of the whole table in 16 MiB chunks ~ table.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const rows = Number(process.argv[2] ?? 2 ** 22);
const dim = 64;
const tableBytes = rows * dim * 4;
const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;

const CHILD = `
import { Embedding } from '@embedding-layer/core';
import { createJsBackend } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
const [op, rows, dim] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const before = process.memoryUsage().rss;
let held = null;
if (op === 'setWeights') held = new Float32Array(rows * dim).fill(0.25); // the caller's array
const base = process.memoryUsage().rss;
const layer = await Embedding.create({ inputDim: rows, outputDim: dim, seed: 1 }, { backend: createJsBackend() });
if (op === 'getWeights') held = (await layer.getWeights())[0];
if (op === 'setWeights') await layer.setWeights([held]);
if (op === 'readRows') {
  const chunk = Math.floor((16 * 2 ** 20) / (dim * 4));
  let sum = 0;
  for (let r = 0; r < rows; r += chunk) sum += (await layer.readRows(r, Math.min(chunk, rows - r)))[0];
  if (Number.isNaN(sum)) throw new Error('NaN');
}
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ op, before, base, peak, path: layer.describe().path, held: held?.length ?? 0 }));
`;

console.log(`table ${rows.toLocaleString()} x ${dim} float32 = ${mb(tableBytes)}; Node ${process.version}`);
for (const op of ['create', 'getWeights', 'setWeights', 'readRows']) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, op, String(rows), String(dim)], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
  });
  const r = JSON.parse(out.trim().split('\n').pop());
  // Peak over the process before the table: what the operation needed on top of the caller's own data.
  const over = r.peak - r.base;
  console.log(
    `${op.padEnd(10)} path ${r.path}: peak ${mb(over)} over the start = table + ${mb(over - tableBytes)}${
      op === 'setWeights' ? " (the caller's array is held before the start)" : ''
    }`,
  );
}
