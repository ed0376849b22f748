// The benchmark page: lookups per second of every browser backend (the targets of the
// conformance page) on one table, with the WebGPU adapter's name in the result. On a software
// adapter (SwiftShader) the numbers measure a CPU emulating a GPU: a correctness run, not a
// speed claim. Query parameters: seconds (per measurement, default 2), rows (default 50000),
// dim (default 64), batches (comma-separated indices per call, default 320,8192).
import { fnv1a, randomIndices } from '@embedding-layer/conformance';
import { Embedding } from '@embedding-layer/core';
import type { BenchResults, BenchRow } from './results.js';
import { adapterName, describeError, findTargets, VERSIONS } from './targets.js';

const $ = (id: string): HTMLElement => document.getElementById(id)!;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A positive number from the query string, or `fallback`. */
function param(params: URLSearchParams, name: string, fallback: number): number {
  const value = Number(params.get(name));
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Every measurement of one backend: warm-up calls, then calls until `seconds` have passed (at least 3). */
async function measure(
  name: string,
  storage: string,
  layer: Embedding,
  rows: number,
  dim: number,
  batch: number,
  seconds: number,
): Promise<BenchRow> {
  const indices = { data: randomIndices(7, batch, rows), shape: [batch] };
  let out = await layer.predict(indices);
  out = await layer.predict(indices);
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (calls < 3 || elapsed < seconds * 1000) {
    out = await layer.predict(indices);
    calls++;
    elapsed = performance.now() - start;
  }
  return {
    backend: name,
    storage,
    table: [rows, dim],
    batch,
    calls,
    seconds: elapsed / 1000,
    lookupsPerSecond: (batch * calls) / (elapsed / 1000),
    checksum: fnv1a(out.data),
  };
}

function render(results: BenchResults): string {
  const body = results.rows
    .map((r) =>
      r.error
        ? `<tr><td>${escapeHtml(r.backend)}</td><td>${escapeHtml(r.storage)}</td><td colspan="5" class="fail">${escapeHtml(r.error)}</td></tr>`
        : `<tr><td>${escapeHtml(r.backend)}</td><td>${escapeHtml(r.storage)}</td><td class="num">${r.batch}</td><td class="num">${r.calls}</td>` +
          `<td class="num">${r.seconds.toFixed(2)} s</td><td class="num">${Math.round(r.lookupsPerSecond).toLocaleString('en-US')}</td><td><code>${r.checksum}</code></td></tr>`,
    )
    .join('');
  const [first] = results.rows;
  const table = first ? `${first.table[0]} x ${first.table[1]} float32 table (seed 42), random indices (seed 7)` : '';
  return (
    `<p>${escapeHtml(table)}; a call is <code>layer.predict</code> with the output read back to a Float32Array.</p>` +
    '<table><tr><th>backend</th><th>storage</th><th>indices per call</th><th>calls</th><th>time</th><th>lookups / s</th><th>checksum of the last output</th></tr>' +
    `${body}</table>`
  );
}

async function main(): Promise<BenchResults> {
  const params = new URLSearchParams(location.search);
  const seconds = param(params, 'seconds', 2);
  const rows = Math.floor(param(params, 'rows', 50_000));
  const dim = Math.floor(param(params, 'dim', 64));
  const batches = (params.get('batches') ?? '320,8192')
    .split(',')
    .map(Number)
    .filter((b) => Number.isSafeInteger(b) && b > 0);
  const { webgl, webgpu, targets } = await findTargets();
  const name = adapterName(webgpu);
  $('env').textContent =
    `${navigator.userAgent} · WebGPU adapter: ${name} · WebGL: ${webgl.available ? webgl.renderer : 'none'}` +
    ` · onnxruntime-web ${VERSIONS.onnxruntimeWeb}, wasm threads 1 · TF.js ${VERSIONS.tfjs}`;
  $('note').textContent =
    webgpu.adapter?.isFallbackAdapter || /swiftshader/i.test(name)
      ? `The WebGPU adapter here is ${name}, a software rasterizer on the CPU: these numbers check that every backend runs and agrees; they are not a speed claim for any GPU.`
      : `Measured on the WebGPU adapter ${name}.`;
  const results: BenchResults = { userAgent: navigator.userAgent, adapterName: name, webgl, webgpu, versions: VERSIONS, rows: [] };
  for (const t of targets) {
    $('status').textContent = `measuring ${t.name}…`;
    let layer: Embedding | undefined;
    try {
      layer = await Embedding.create({ inputDim: rows, outputDim: dim, seed: 42 }, { backend: await t.create() });
      for (const batch of batches) results.rows.push(await measure(t.name, t.storage, layer, rows, dim, batch, seconds));
    } catch (error) {
      const e = describeError(error);
      results.rows.push({
        backend: t.name,
        storage: t.storage,
        table: [rows, dim],
        batch: 0,
        calls: 0,
        seconds: 0,
        lookupsPerSecond: 0,
        checksum: '',
        error: `${e.name}${e.code ? ` (${e.code})` : ''}: ${e.message}`,
      });
    } finally {
      await layer?.dispose();
    }
    $('results').innerHTML = render(results);
  }
  return results;
}

main().then(
  (results) => {
    window.__EMBEDDING_BENCH__ = results;
    $('status').textContent = 'done';
    document.body.dataset.status = 'done';
  },
  (error: unknown) => {
    const e = describeError(error);
    window.__EMBEDDING_BENCH__ = { error: `${e.name}: ${e.message}` };
    $('status').textContent = `error: ${e.name}: ${e.message}`;
    document.body.dataset.status = 'error';
  },
);
