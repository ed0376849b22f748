// The browser page: the seed example and every conformance case on adapter-js, adapter-tfjs
// (WebGL when the browser offers it, cpu, and TF.js's webgpu backend with WebGPU) and
// adapter-onnx's web variant (onnxruntime-web: wasm, and the webgpu execution provider with
// float32, float16 and int8 storage), plus TF.js's raw gather at an out-of-range index (zeros on
// WebGL and WebGPU) next to our InvalidIndexError. The results go to the page (tables) and to
// `window.__EMBEDDING_RESULTS__` for the test.
import { createJsBackend } from '@embedding-layer/adapter-js';
import { createOnnxWebBackend } from '@embedding-layer/adapter-onnx/web';
import {
  CONFORMANCE_CASES,
  checkWithin,
  fnv1a,
  randomIndices,
  rowMaxes,
  runConformance,
  storageBound,
  toleranceOf,
} from '@embedding-layer/conformance';
import { Embedding } from '@embedding-layer/core';
import { decodeHalf, encodeHalf } from '@embedding-layer/core/backend';
import { buildEmbeddingModel, ONNX_NAMES } from '@embedding-layer/onnx-model';
import type { BackendCases, BigTableDemo, BigTableRow, OrtFloat16Demo, PageResults, Refusal, SeedRow, ZerosDemo } from './results.js';
import { adapterName, describeError, findTargets, ort, PAGE_BINDING_LIMIT, type Target, tf, VERSIONS } from './targets.js';

/** The seed example, as `npm start` runs it (packages/cli/src/demo.ts, SEED_EXAMPLE). */
const SEED_EXAMPLE = { inputDim: 1000, outputDim: 64, inputLength: 10, batch: 32, weightSeed: 42, inputSeed: 7 } as const;

const $ = (id: string): HTMLElement => document.getElementById(id)!;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The seed example on every target. The first target (adapter-js, float32) is the reference:
 * a float32 target must give its bits exactly; a float16/int8 target every value within its
 * declared storage bound of the reference (the bound of the value's table row).
 */
async function runSeed(targets: readonly Target[]): Promise<SeedRow[]> {
  const { inputDim, outputDim, inputLength, batch, weightSeed, inputSeed } = SEED_EXAMPLE;
  const input = { data: randomIndices(inputSeed, batch * inputLength, inputDim), shape: [batch, inputLength] };
  const rows: SeedRow[] = [];
  let reference: { out: Float32Array; maxes: Float64Array } | undefined;
  for (const t of targets) {
    const start = performance.now();
    const layer = await Embedding.create({ inputDim, outputDim, inputLength, seed: weightSeed }, { backend: await t.create() });
    const out = await layer.predict(input);
    const ms = performance.now() - start;
    if (!reference) {
      const [table] = await layer.getWeights();
      reference = { out: out.data, maxes: rowMaxes(table!, inputDim, outputDim) };
    }
    const bound = storageBound(layer.supports);
    const storage = layer.supports.storage.dtype;
    await layer.dispose();
    const tolerance = toleranceOf(bound, reference.maxes, input.data, outputDim);
    const expected = reference.out;
    let maxAbsDiff = 0;
    let maxBound = 0;
    for (let i = 0; i < expected.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(out.data[i]! - expected[i]!));
      maxBound = Math.max(maxBound, tolerance(i));
    }
    let agrees: boolean;
    if (maxBound === 0) agrees = out.data.length === expected.length && out.data.every((v, i) => Object.is(v, expected[i]));
    else {
      try {
        checkWithin(t.name, out.data, expected, tolerance);
        agrees = true;
      } catch {
        agrees = false;
      }
    }
    rows.push({ backend: t.name, storage, shape: out.shape, checksum: fnv1a(out.data), agrees, maxAbsDiff, maxBound, ms });
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

/**
 * onnxruntime-web's webgpu EP on a float16 table, by hand: our float16 graph
 * (`Cast(Gather(embeddings, indices))`, table fed as a float16 input) in a raw session, rows
 * [1, 2]; then our layer with the same options (`storage: 'float16'` on `['webgpu']`).
 */
async function ortFloat16Demo(shaderF16: boolean): Promise<OrtFloat16Demo> {
  const demo: OrtFloat16Demo = { shaderF16 };
  const reference = await Embedding.create({ inputDim: 10, outputDim: 4, seed: 42 }, { backend: createJsBackend() });
  const [weights] = await reference.getWeights();
  const config = reference.config;
  await reference.dispose();
  const half = encodeHalf(weights!);
  // Rows 1 and 2 of the float16 table, decoded on the CPU: what the session should return.
  const expected = Array.from(decodeHalf(half.subarray(4, 12)));
  demo.expected = expected;
  try {
    const model = buildEmbeddingModel(config, weights!, { table: 'input', indexType: 'int32', inputShape: ['n'], storage: 'float16' });
    const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'] });
    try {
      const result = await session.run({
        [ONNX_NAMES.indices]: new ort.Tensor('int32', Int32Array.of(1, 2), [2]),
        [ONNX_NAMES.embeddings]: new ort.Tensor('float16', half, [10, 4]),
      });
      const out = Array.from(result[ONNX_NAMES.output]!.data as Float32Array);
      demo.rawOutput = out;
      demo.rawAllZero = out.every((v) => v === 0);
    } finally {
      await session.release();
    }
  } catch (error) {
    demo.rawError = describeError(error);
  }
  try {
    const layer = await Embedding.create(
      { inputDim: 10, outputDim: 4, seed: 42 },
      { backend: createOnnxWebBackend({ runtime: ort, executionProviders: ['webgpu'], storage: 'float16' }) },
    );
    const out = await layer.predict({ data: Int32Array.of(1, 2), shape: [2] });
    await layer.dispose();
    demo.layerError = null;
    demo.layerAgrees = Array.from(out.data).every((v, i) => Object.is(v, expected[i]));
  } catch (error) {
    demo.layerError = describeError(error);
  }
  return demo;
}

/**
 * A 300k x 128 float32 table (153.6 MB: more than one 128 MiB binding) on the WebGPU columns,
 * rows on both sides of the 128 MiB mark (row 262144 starts at byte 134217728) compared with
 * adapter-js's; and onnxruntime-web's own webgpu session on the same table, fed by hand.
 */
async function bigTableDemo(targets: readonly Target[]): Promise<BigTableDemo> {
  const inputDim = 300_000;
  const outputDim = 128;
  const ids = Int32Array.of(0, 1, 150_000, 262_143, 262_144, 299_999);
  const input = { data: ids, shape: [ids.length] };
  const demo: BigTableDemo = { inputDim, outputDim, tableBytes: inputDim * outputDim * 4, ids: Array.from(ids), results: [] };
  const reference = await Embedding.create({ inputDim, outputDim, seed: 42 }, { backend: createJsBackend() });
  const expected = (await reference.predict(input)).data;
  const [weights] = await reference.getWeights();
  const config = reference.config;
  await reference.dispose();
  // The row maxima of the looked-up rows only (no pass over all 38.4M values).
  const picked = new Float32Array(ids.length * outputDim);
  for (let r = 0; r < ids.length; r++) picked.set(weights!.subarray(ids[r]! * outputDim, (ids[r]! + 1) * outputDim), r * outputDim);
  const maxes = rowMaxes(picked, ids.length, outputDim);
  const compare = (row: BigTableRow, out: Float32Array, bound: { relative: number; absolute: number }): void => {
    row.bitwise = out.length === expected.length && out.every((v, i) => Object.is(v, expected[i]));
    row.zeros = out.filter((v) => v === 0).length;
    row.maxAbsDiff = out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
    const tolerance = toleranceOf(
      bound,
      maxes,
      Int32Array.from(ids, (_, r) => r),
      outputDim,
    );
    try {
      checkWithin(row.backend, out, expected, tolerance);
      row.withinBound = true;
    } catch {
      row.withinBound = false;
    }
  };
  for (const name of ['webgpu', 'tfjs-webgpu', 'onnx-webgpu', 'onnx-webgpu int8']) {
    const t = targets.find((x) => x.name === name);
    if (!t) continue;
    $('status').textContent = `a ${inputDim} x ${outputDim} table on ${name}…`;
    const row: BigTableRow = { backend: name };
    try {
      const layer = await Embedding.create({ inputDim, outputDim, seed: 42 }, { backend: await t.create() });
      try {
        compare(row, (await layer.predict(input)).data, layer.supports.storage.bound);
      } finally {
        await layer.dispose();
      }
    } catch (error) {
      row.error = describeError(error);
    }
    demo.results.push(row);
  }
  // onnxruntime-web by hand: our float32 graph, the table fed as an input, on its webgpu EP.
  const raw: BigTableRow = { backend: "raw onnxruntime-web session, executionProviders ['webgpu']" };
  try {
    const model = buildEmbeddingModel(config, weights!, { table: 'input', indexType: 'int32', inputShape: ['n'] });
    const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'] });
    try {
      const result = await session.run({
        [ONNX_NAMES.indices]: new ort.Tensor('int32', ids, [ids.length]),
        [ONNX_NAMES.embeddings]: new ort.Tensor('float32', weights!, [inputDim, outputDim]),
      });
      compare(raw, result[ONNX_NAMES.output]!.data as Float32Array, { relative: 0, absolute: 0 });
    } finally {
      await session.release();
    }
  } catch (error) {
    raw.error = describeError(error);
  }
  demo.results.push(raw);
  const ortDevice = (await (ort.env.webgpu as { device?: unknown }).device) as
    | { limits?: { maxStorageBufferBindingSize?: number } }
    | undefined;
  for (const row of demo.results) {
    if (row.backend.includes('onnx')) {
      const limit = ortDevice?.limits?.maxStorageBufferBindingSize;
      if (limit !== undefined) row.bindingLimit = limit;
    } else if (row.backend === 'webgpu') row.bindingLimit = PAGE_BINDING_LIMIT;
  }
  return demo;
}

function renderBigTable(demo: BigTableDemo, tfjsLimit: number | undefined): string {
  const body = demo.results
    .map((r) => {
      const limit = r.backend === 'tfjs-webgpu' ? tfjsLimit : r.bindingLimit;
      const result = r.error
        ? `throws ${escapeHtml(r.error.name)} (${escapeHtml(r.error.code ?? '')}): ${escapeHtml(r.error.message)}`
        : r.bitwise
          ? "adapter-js's rows, bit for bit"
          : r.withinBound
            ? `within the storage bound of adapter-js's rows (max |diff| ${r.maxAbsDiff!.toExponential(2)})`
            : `WRONG: ${r.zeros} of ${demo.ids.length * demo.outputDim} values are 0, max |diff| ${r.maxAbsDiff!.toExponential(2)}`;
      const good = r.error ? r.error.code === 'LIMIT_EXCEEDED' : r.bitwise || r.withinBound;
      return `<tr><td>${escapeHtml(r.backend)}</td><td class="num">${limit ?? '?'}</td><td class="${good ? 'pass' : 'fail'}">${result}</td></tr>`;
    })
    .join('');
  return (
    `<h2>A ${demo.inputDim} x ${demo.outputDim} float32 table (${demo.tableBytes} bytes, more than one 128 MiB binding), rows ${demo.ids.join(', ')}</h2>` +
    "<p>onnxruntime-web and adapter-webgpu run on devices with 128 MiB bindings here (the WebGPU default, and many real GPUs'); TF.js asks for the adapter's own limit.</p>" +
    `<table><tr><th>backend</th><th>device binding limit</th><th>result</th></tr>${body}</table>`
  );
}

function renderSeed(rows: readonly SeedRow[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.backend)}</td><td>${escapeHtml(r.storage)}</td><td>[${r.shape.join(', ')}]</td><td><code>${r.checksum}</code></td>` +
        `<td class="num">${r.maxAbsDiff.toExponential(2)}</td><td class="num">${r.maxBound.toExponential(2)}</td>` +
        `<td class="num">${r.ms.toFixed(1)} ms</td><td class="${r.agrees ? 'pass' : 'fail'}">${r.agrees ? (r.maxBound === 0 ? 'bitwise' : 'within bound') : 'NO'}</td></tr>`,
    )
    .join('');
  return (
    '<h2>Seed example: Embedding(1000, 64, input_length=10), 32x10 input (weights seed 42, input seed 7)</h2>' +
    '<p>Compared with adapter-js in this page: float32 storage bit for bit, float16/int8 within the declared storage bound.</p>' +
    '<table><tr><th>backend</th><th>storage</th><th>shape</th><th>FNV-1a checksum</th><th>max |diff| vs js</th><th>bound</th><th>time</th><th>agrees</th></tr>' +
    `${body}</table>`
  );
}

function renderZeros(demo: ZerosDemo, note: string): string {
  const head = `<h2>Out-of-range index 1000 on a 1000-row table: TF.js ${escapeHtml(demo.tfBackend)}</h2>${note ? `<p>${escapeHtml(note)}</p>` : ''}`;
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

function renderOrtFloat16(demo: OrtFloat16Demo): string {
  const values = (v: readonly number[]): string => `[${v.map((x) => x.toFixed(4)).join(', ')}]`;
  const raw = demo.rawError
    ? `throws ${escapeHtml(demo.rawError.name)}: ${escapeHtml(demo.rawError.message)}`
    : `returns ${values(demo.rawOutput!)} (${demo.rawAllZero ? 'all zeros' : 'not all zeros'})`;
  const ours = demo.layerError
    ? `rejects with ${escapeHtml(demo.layerError.name)} (${escapeHtml(demo.layerError.code ?? '')}): ${escapeHtml(demo.layerError.message)}`
    : `returns rows 1, 2 (${demo.layerAgrees ? "the float16 table's values" : "NOT the float16 table's values"})`;
  return (
    `<h2>float16 table on onnxruntime-web's webgpu EP (device shader-f16: ${demo.shaderF16 ? 'yes' : 'no'})</h2>` +
    `<p>Rows 1, 2 of a 10x4 float16 table should be ${values(demo.expected!)}.</p>` +
    '<table><tr><th>call</th><th>result</th></tr>' +
    `<tr><td>raw <code>session.run</code> of <code>Cast(Gather(embeddings: float16, [1, 2]))</code>, executionProviders ['webgpu']</td><td class="${demo.rawAllZero ? 'fail' : ''}">${raw}</td></tr>` +
    `<tr><td>our layer, <code>createOnnxWebBackend({ executionProviders: ['webgpu'], storage: 'float16' })</code></td><td class="${demo.layerError || demo.layerAgrees ? 'pass' : 'fail'}">${ours}</td></tr></table>`
  );
}

function renderRefused(refused: readonly Refusal[]): string {
  if (refused.length === 0) return '';
  const body = refused
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.backend)}</td><td>${escapeHtml(r.error.name)} (${escapeHtml(r.error.code ?? '')}): ${escapeHtml(r.error.message)}</td></tr>`,
    )
    .join('');
  return `<h2>Refused in this browser (a typed error at layer creation; no case run)</h2><table><tr><th>backend</th><th>error</th></tr>${body}</table>`;
}

function renderSummary(suites: readonly BackendCases[]): string {
  const body = suites
    .map((s) => {
      const passed = s.results.filter((r) => r.status === 'pass').length;
      const failed = s.results.filter((r) => r.status === 'fail').length;
      const skipped = s.results.length - passed - failed;
      const ms = s.results.reduce((sum, r) => sum + r.ms, 0);
      return (
        `<tr><td>${escapeHtml(s.backend)}</td><td class="num pass">${passed}</td><td class="num ${failed ? 'fail' : ''}">${failed}</td>` +
        `<td class="num">${skipped}</td><td class="num">${s.results.length}</td><td class="num">${ms.toFixed(0)} ms</td></tr>`
      );
    })
    .join('');
  return (
    '<h2>Conformance (runConformance: float32 bit for bit, float16/int8 within the declared bound)</h2>' +
    "<p>A skip is a case the backend's declared capabilities exclude (e.g. bit patterns on lossy storage, training on an inference-only backend); hover for the reason.</p>" +
    `<table><tr><th>backend</th><th>passed</th><th>failed</th><th>skipped</th><th>cases</th><th>time</th></tr>${body}</table>`
  );
}

function renderCases(suites: readonly BackendCases[]): string {
  const head = `<tr><th>case</th>${suites.map((s) => `<th>${escapeHtml(s.backend)}</th>`).join('')}</tr>`;
  const body = CONFORMANCE_CASES.map((c) => {
    const cells = suites
      .map((s) => {
        const r = s.results.find((x) => x.id === c.id);
        if (!r) return '<td>–</td>';
        if (r.status === 'pass') return '<td class="pass">pass</td>';
        if (r.status === 'skip') return `<td title="${escapeHtml(r.message ?? '')}">skip</td>`;
        return `<td class="fail" title="${escapeHtml(r.message ?? '')}">FAIL: ${escapeHtml(r.message ?? '')}</td>`;
      })
      .join('');
    return `<tr><td>${escapeHtml(c.id)}</td>${cells}</tr>`;
  }).join('');
  return `<h2>Every case x backend</h2><table class="cases">${head}${body}</table>`;
}

async function main(): Promise<PageResults> {
  const found = await findTargets();
  const { webgl, webgpu } = found;
  // A factory may refuse a configuration in this browser (a typed error at layer creation): shown, not run.
  const targets: Target[] = [];
  const refused: Refusal[] = [];
  for (const t of found.targets) {
    try {
      const layer = await Embedding.create({ inputDim: 1, outputDim: 1, seed: 0 }, { backend: await t.create() });
      await layer.dispose();
      targets.push(t);
    } catch (error) {
      refused.push({ backend: t.name, error: describeError(error) });
    }
  }
  $('env').textContent =
    `${navigator.userAgent} · WebGL: ${webgl.available ? `${webgl.context}, ${webgl.renderer}` : `none (${webgl.reason})`}` +
    ` · WebGPU: ${webgpu.available ? `${adapterName(webgpu)}, maxStorageBufferBindingSize ${webgpu.maxStorageBufferBindingSize}, shader-f16 ${webgpu.shaderF16 ? 'yes' : 'no'}` : `none (${webgpu.reason})`}` +
    `${webgpu.available && webgpu.reason ? ` (${webgpu.reason})` : ''}` +
    ` · onnxruntime-web ${VERSIONS.onnxruntimeWeb}, wasm threads 1 · TF.js ${VERSIONS.tfjs}`;

  const seed = await runSeed(targets);
  $('seed').innerHTML = renderSeed(seed);

  // Without WebGL the same comparison runs on TF.js's cpu backend (whose own gather throws).
  const webglTarget = targets.find((t) => t.name === 'tfjs-webgl');
  const zeros = webglTarget ? await zerosDemo('webgl', webglTarget) : await zerosDemo('cpu', targets.find((t) => t.name === 'tfjs-cpu')!);
  let zerosHtml = renderZeros(zeros, webgl.available ? '' : `No WebGL (${webgl.reason ?? ''}): compared on TF.js's cpu backend instead.`);
  const webgpuTarget = targets.find((t) => t.name === 'tfjs-webgpu');
  let zerosWebgpu: ZerosDemo | undefined;
  let tfjsWebgpuMaxTableBytes: number | undefined;
  if (webgpuTarget) {
    zerosWebgpu = await zerosDemo('webgpu', webgpuTarget);
    zerosHtml += renderZeros(zerosWebgpu, 'TF.js webgpu with WEBGPU_CPU_FORWARD off, so that the WGSL gather kernel runs.');
    const probe = await Embedding.create({ inputDim: 1, outputDim: 1, seed: 0 }, { backend: await webgpuTarget.create() });
    tfjsWebgpuMaxTableBytes = probe.supports.maxTableBytes;
    await probe.dispose();
  }
  let ortFloat16: OrtFloat16Demo | undefined;
  if (webgpu.available) {
    ortFloat16 = await ortFloat16Demo(webgpu.shaderF16 === true);
    zerosHtml += renderOrtFloat16(ortFloat16);
  }
  $('webgl').innerHTML = zerosHtml;
  $('refused').innerHTML = renderRefused(refused);

  const conformance: BackendCases[] = [];
  for (const t of targets) {
    $('status').textContent = `running the conformance cases on ${t.name}…`;
    conformance.push({ backend: t.name, results: await runConformance({ createBackend: t.create }) });
    $('summary').innerHTML = renderSummary(conformance);
  }
  $('cases').innerHTML = renderCases(conformance);
  // Last: onnxruntime-web's failed binding leaves WebGPU validation errors behind.
  let bigTable: BigTableDemo | undefined;
  if (webgpu.available) {
    bigTable = await bigTableDemo(targets);
    $('big').innerHTML = renderBigTable(bigTable, tfjsWebgpuMaxTableBytes);
  }
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    versions: VERSIONS,
    webgl,
    webgpu,
    seed,
    zeros,
    ...(zerosWebgpu ? { zerosWebgpu } : {}),
    ...(tfjsWebgpuMaxTableBytes !== undefined ? { tfjsWebgpuMaxTableBytes } : {}),
    ...(ortFloat16 ? { ortFloat16 } : {}),
    ...(bigTable ? { bigTable } : {}),
    refused,
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
