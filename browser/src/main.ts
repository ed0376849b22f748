// The browser page: the seed example and every conformance case on adapter-js, adapter-tfjs
// (WebGL when the browser offers it, and cpu) and adapter-onnx's web variant (onnxruntime-web,
// wasm), plus TF.js WebGL's zeros for an out-of-range index next to our InvalidIndexError.
// The results go to the page (tables) and to `window.__EMBEDDING_RESULTS__` for the test.
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createOnnxWebBackend } from '@embedding-layer/adapter-onnx/web';
import { createTfjsBackend } from '@embedding-layer/adapter-tfjs';
import { CONFORMANCE_CASES, fnv1a, randomIndices, runConformance } from '@embedding-layer/conformance';
import { Embedding, type EmbeddingBackend } from '@embedding-layer/core';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import type { BackendCases, PageResults, SeedRow, WebglInfo, ZerosDemo } from './results.js';

// Single-threaded wasm: no cross-origin isolation needed (a lookup is a row copy anyway).
ort.env.wasm.numThreads = 1;

/** The seed example, as `npm start` runs it (packages/cli/src/demo.ts, SEED_EXAMPLE). */
const SEED_EXAMPLE = { inputDim: 1000, outputDim: 64, inputLength: 10, batch: 32, weightSeed: 42, inputSeed: 7 } as const;

interface Target {
  name: string;
  create: () => Promise<EmbeddingBackend>;
}

const $ = (id: string): HTMLElement => document.getElementById(id)!;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message };
  }
  return { name: typeof error, message: String(error) };
}

/** Whether this browser gives a WebGL context, and whose renderer it is. */
function probeWebgl(): WebglInfo {
  const canvas = document.createElement('canvas');
  for (const kind of ['webgl2', 'webgl'] as const) {
    const gl = canvas.getContext(kind) as WebGLRenderingContext | null;
    if (!gl) continue;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    return { available: true, context: kind, renderer };
  }
  return { available: false, reason: 'canvas.getContext("webgl2") and ("webgl") both returned null' };
}

async function runSeed(targets: readonly Target[]): Promise<SeedRow[]> {
  const { inputDim, outputDim, inputLength, batch, weightSeed, inputSeed } = SEED_EXAMPLE;
  const input = { data: randomIndices(inputSeed, batch * inputLength, inputDim), shape: [batch, inputLength] };
  const rows: SeedRow[] = [];
  let first: Float32Array | undefined;
  for (const t of targets) {
    const start = performance.now();
    const layer = await Embedding.create({ inputDim, outputDim, inputLength, seed: weightSeed }, { backend: await t.create() });
    const out = await layer.predict(input);
    const ms = performance.now() - start;
    await layer.dispose();
    first ??= out.data;
    const agrees = out.data.length === first.length && out.data.every((v, i) => Object.is(v, first![i]));
    rows.push({ backend: t.name, shape: out.shape, checksum: fnv1a(out.data), agrees, ms });
  }
  return rows;
}

/**
 * TF.js's own gather on a 1000-row table at index 1000 (one past the end), on `tfBackend`;
 * then our layer on that same TF.js backend with the same index.
 */
async function zerosDemo(tfBackend: string, layerBackend: Target): Promise<ZerosDemo> {
  const ok = await tf.setBackend(tfBackend);
  if (!ok) throw new Error(`tf.setBackend(${JSON.stringify(tfBackend)}) failed`);
  await tf.ready();
  const demo: ZerosDemo = { tfBackend: tf.getBackend(), index: 1000, inputDim: 1000, layerBackend: layerBackend.name };
  // Every table entry is in [0.5, 1.5): a zero can only come from outside the table.
  const table = tf.randomUniform([1000, 64], 0.5, 1.5, 'float32', 42);
  const indices = tf.tensor1d([999, 1000], 'int32');
  try {
    const rows = (await tf.gather(table, indices).array()) as number[][];
    demo.rawLastRow = rows[0]!.slice(0, 4);
    demo.rawOutOfRangeRow = rows[1]!.slice(0, 4);
    demo.rawOutOfRangeAllZero = rows[1]!.every((v) => v === 0);
  } catch (error) {
    demo.rawError = describeError(error);
  } finally {
    tf.dispose([table, indices]);
  }
  const layer = await Embedding.create({ inputDim: 1000, outputDim: 64, seed: 42 }, { backend: await layerBackend.create() });
  try {
    const last = await layer.predict({ data: Int32Array.of(999), shape: [1, 1] });
    demo.layerLastRowChecksum = fnv1a(last.data);
    await layer.predict({ data: Int32Array.of(999, 1000), shape: [1, 2] });
    demo.layerError = null;
  } catch (error) {
    demo.layerError = describeError(error);
  } finally {
    await layer.dispose();
  }
  return demo;
}

function renderSeed(rows: readonly SeedRow[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.backend)}</td><td>[${r.shape.join(', ')}]</td><td><code>${r.checksum}</code></td>` +
        `<td class="num">${r.ms.toFixed(1)} ms</td><td class="${r.agrees ? 'pass' : 'fail'}">${r.agrees ? 'yes' : 'NO'}</td></tr>`,
    )
    .join('');
  return (
    '<h2>Seed example: Embedding(1000, 64, input_length=10), 32x10 input (weights seed 42, input seed 7)</h2>' +
    `<table><tr><th>backend</th><th>shape</th><th>FNV-1a checksum</th><th>time</th><th>agrees</th></tr>${body}</table>`
  );
}

function renderZeros(demo: ZerosDemo, webgl: WebglInfo): string {
  const head =
    '<h2>Out-of-range index 1000 on a 1000-row table</h2>' +
    (webgl.available ? '' : `<p>No WebGL (${escapeHtml(webgl.reason ?? '')}): compared on TF.js's cpu backend instead.</p>`);
  const raw = demo.rawError
    ? `throws ${escapeHtml(demo.rawError.name)}: ${escapeHtml(demo.rawError.message)}`
    : `returns row 1000 = [${demo.rawOutOfRangeRow!.join(', ')}, …] (${demo.rawOutOfRangeAllZero ? 'all zeros' : 'not all zeros'}); row 999 = [${demo
        .rawLastRow!.map((v) => v.toFixed(3))
        .join(', ')}, …]`;
  const ours = demo.layerError
    ? `rejects with ${escapeHtml(demo.layerError.name)} (${escapeHtml(demo.layerError.code ?? '')}): ${escapeHtml(demo.layerError.message)}`
    : 'returned a result (no error)';
  return (
    `${head}<table><tr><th>call</th><th>result</th></tr>` +
    `<tr><td>raw <code>tf.gather(table, [999, 1000])</code> on tfjs-${escapeHtml(demo.tfBackend)}</td><td class="${demo.rawOutOfRangeAllZero ? 'fail' : ''}">${raw}</td></tr>` +
    `<tr><td>our <code>layer.predict([[999, 1000]])</code> on ${escapeHtml(demo.layerBackend)}</td><td class="${demo.layerError ? 'pass' : 'fail'}">${ours}</td></tr></table>`
  );
}

function renderSummary(suites: readonly BackendCases[]): string {
  const body = suites
    .map((s) => {
      const passed = s.results.filter((r) => r.status === 'pass').length;
      const failed = s.results.length - passed;
      const ms = s.results.reduce((sum, r) => sum + r.ms, 0);
      return (
        `<tr><td>${escapeHtml(s.backend)}</td><td class="num pass">${passed}</td><td class="num ${failed ? 'fail' : ''}">${failed}</td>` +
        `<td class="num">${s.results.length}</td><td class="num">${ms.toFixed(0)} ms</td></tr>`
      );
    })
    .join('');
  return `<h2>Conformance (runConformance, bitwise)</h2><table><tr><th>backend</th><th>passed</th><th>failed</th><th>cases</th><th>time</th></tr>${body}</table>`;
}

function renderCases(suites: readonly BackendCases[]): string {
  const head = `<tr><th>case</th>${suites.map((s) => `<th>${escapeHtml(s.backend)}</th>`).join('')}</tr>`;
  const body = CONFORMANCE_CASES.map((c) => {
    const cells = suites
      .map((s) => {
        const r = s.results.find((x) => x.id === c.id);
        if (!r) return '<td>–</td>';
        return r.status === 'pass'
          ? '<td class="pass">pass</td>'
          : `<td class="fail" title="${escapeHtml(r.message ?? '')}">FAIL: ${escapeHtml(r.message ?? '')}</td>`;
      })
      .join('');
    return `<tr><td>${escapeHtml(c.id)}</td>${cells}</tr>`;
  }).join('');
  return `<h2>Every case x backend</h2><table class="cases">${head}${body}</table>`;
}

async function main(): Promise<PageResults> {
  const webgl = probeWebgl();
  let webglBackend: Target | null = null;
  if (webgl.available) {
    try {
      await createTfjsBackend({ backend: 'webgl', runtime: tf });
      webglBackend = { name: 'tfjs-webgl', create: () => createTfjsBackend({ backend: 'webgl', runtime: tf }) };
    } catch (error) {
      webgl.available = false;
      webgl.reason = `TF.js could not start its webgl backend: ${describeError(error).message}`;
    }
  }
  const targets: Target[] = [
    { name: 'js', create: async () => createJsBackend() },
    ...(webglBackend ? [webglBackend] : []),
    { name: 'tfjs-cpu', create: () => createTfjsBackend({ backend: 'cpu', runtime: tf }) },
    { name: 'onnx-web (wasm)', create: async () => createOnnxWebBackend({ runtime: ort }) },
  ];
  $('env').textContent =
    `${navigator.userAgent} · WebGL: ${webgl.available ? `${webgl.context}, ${webgl.renderer}` : `none (${webgl.reason})`}` +
    ` · onnxruntime-web ${ort.env.versions.web}, wasm threads ${ort.env.wasm.numThreads} · TF.js ${tf.version.tfjs}`;

  const seed = await runSeed(targets);
  $('seed').innerHTML = renderSeed(seed);

  // Without WebGL the same comparison runs on TF.js's cpu backend (whose own gather throws).
  const zeros = webglBackend ? await zerosDemo('webgl', webglBackend) : await zerosDemo('cpu', targets.find((t) => t.name === 'tfjs-cpu')!);
  $('webgl').innerHTML = renderZeros(zeros, webgl);

  const conformance: BackendCases[] = [];
  for (const t of targets) {
    $('status').textContent = `running the conformance cases on ${t.name}…`;
    conformance.push({ backend: t.name, results: await runConformance({ createBackend: t.create }) });
    $('summary').innerHTML = renderSummary(conformance);
  }
  $('cases').innerHTML = renderCases(conformance);
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    versions: { tfjs: tf.version.tfjs, onnxruntimeWeb: ort.env.versions.web ?? 'unknown' },
    webgl,
    seed,
    zeros,
    conformance,
  };
}

main().then(
  (results) => {
    window.__EMBEDDING_RESULTS__ = results;
    const failed = results.conformance.reduce((n, s) => n + s.results.filter((r) => r.status === 'fail').length, 0);
    $('status').textContent = failed === 0 ? 'done: every case passed on every backend' : `done: ${failed} case(s) FAILED`;
    document.body.dataset.status = 'done';
  },
  (error: unknown) => {
    const e = describeError(error);
    window.__EMBEDDING_RESULTS__ = { error: `${e.name}: ${e.message}` };
    $('status').textContent = `error: ${e.name}: ${e.message}`;
    document.body.dataset.status = 'error';
  },
);
