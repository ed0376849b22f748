// The real-browser test: builds the page with vite, serves it with `vite preview` on
// 127.0.0.1, opens it in Debian's chromium (headless, through playwright-core, never a
// downloaded browser), and checks what the page computed: every conformance case passed on
// every backend (WebGPU ones included: TF.js's webgpu backend, onnxruntime-web's webgpu EP),
// the seed example's checksum equals `npm start`'s on every float32 backend, TF.js WebGL's and
// WebGPU's raw gather return zeros for an out-of-range index where our layer rejects; and the
// benchmark page measures every backend and names the WebGPU adapter.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { runDemo, SEED_EXAMPLE } from '@embedding-layer/cli';
import { CONFORMANCE_CASES } from '@embedding-layer/conformance';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPage,
  CHROMIUM,
  CHROMIUM_ARGS,
  MISSING,
  REQUIRED,
  type ServedPage,
  servePage,
  whichChromium,
} from '../../scripts/chromium-page.js';
import type { BenchResults, PageResults } from '../src/results.js';

const BROWSER_DIR = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(BROWSER_DIR, 'vite.config.ts');
const RESULTS_DIR = join(BROWSER_DIR, 'results');
describe.skipIf(!CHROMIUM && !REQUIRED)(`the page in headless Chromium${CHROMIUM ? '' : ` (skipped: ${MISSING})`}`, () => {
  let server: ServedPage | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let url = '';

  beforeAll(async () => {
    whichChromium();
    await buildPage(CONFIG);
    server = await servePage(CONFIG);
    url = server.url;
  }, 150_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  /** Opens `path` of the served pages in the persistent context; collects page errors and requests to other origins. */
  async function open(path: string): Promise<{ page: Page; pageErrors: string[]; foreign: string[] }> {
    if (!context) {
      userDataDir = mkdtempSync(join(tmpdir(), 'embedding-layer-chromium-'));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: whichChromium(),
        headless: true,
        args: [...CHROMIUM_ARGS],
      });
    }
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Only the page's own origin: a request anywhere else (a CDN) fails the test.
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('data:') && !request.url().startsWith('blob:'))
        foreign.push(request.url());
    });
    await page.goto(url + path);
    // SwiftShader on two shared cores: the whole page takes about a minute alone, minutes under load.
    await page.waitForSelector('body[data-status]', { timeout: 840_000 });
    return { page, pageErrors, foreign };
  }

  it('runs the seed example and every conformance case on js, tfjs (webgl, cpu, webgpu) and onnx-web (wasm, webgpu), and our layer rejects what TF.js on WebGL and WebGPU reads as zeros', async () => {
    const { page, pageErrors, foreign } = await open('');
    const results = (await page.evaluate(() => window.__EMBEDDING_RESULTS__)) as PageResults | { error: string };
    mkdirSync(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: join(RESULTS_DIR, 'browser-results.png'), fullPage: true });
    writeFileSync(join(RESULTS_DIR, 'browser-results.json'), `${JSON.stringify(results, null, 2)}\n`);

    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
    if ('error' in results) throw new Error(`the page failed: ${results.error}`);
    if (!results.webgl.available) console.warn(`No WebGL in headless Chromium (${results.webgl.reason}): TF.js ran on cpu only.`);

    // WebGPU: --enable-unsafe-webgpu on a page from http://127.0.0.1 (a secure context) gives an adapter (SwiftShader here).
    const { webgpu } = results;
    expect(webgpu.secureContext).toBe(true);
    expect(webgpu.available, webgpu.reason).toBe(true);
    expect(webgpu.adapter?.vendor, 'the adapter names itself (adapter.info)').toMatch(/\S/);
    expect(webgpu.reason, 'every WebGPU runtime started').toBeUndefined();

    // The matrix: every case passed on every column. float16 on onnxruntime-web's webgpu EP needs
    // shader-f16 (SwiftShader has none): then its factory refuses with INVALID_CONFIG instead of
    // the zeros ORT would return (shown below), and the column is listed as refused.
    const names = results.conformance.map((s) => s.backend);
    const webgpuColumns = [
      'tfjs-webgpu',
      'onnx-webgpu',
      ...(webgpu.shaderF16 ? ['onnx-webgpu float16'] : []),
      'onnx-webgpu int8',
      'webgpu',
      'webgpu float16',
      'webgpu int8',
    ];
    expect(names).toEqual(['js', ...(results.webgl.available ? ['tfjs-webgl'] : []), 'tfjs-cpu', 'onnx-web (wasm)', ...webgpuColumns]);
    if (webgpu.shaderF16) expect(results.refused).toEqual([]);
    else {
      expect(results.refused.map((r) => r.backend)).toEqual(['onnx-webgpu float16']);
      expect(results.refused[0]!.error).toMatchObject({ name: 'InvalidConfigError', code: 'INVALID_CONFIG' });
      expect(results.refused[0]!.error.message).toMatch(/storage 'float16' with the webgpu execution provider needs .*'shader-f16'/);
    }
    const skippedOn = (backend: string): string[] =>
      results.conformance
        .find((s) => s.backend === backend)!
        .results.filter((r) => r.status === 'skip')
        .map((r) => r.id);
    for (const suite of results.conformance) {
      expect(suite.results.map((r) => r.id)).toEqual(CONFORMANCE_CASES.map((c) => c.id));
      const failures = suite.results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.message}`);
      expect(failures, suite.backend).toEqual([]);
      // A float32 column skips no more than its CPU reference: onnx-web (wasm) for onnx (inference only), js for the others.
      if (!/float16|int8/.test(suite.backend)) {
        const reference = suite.backend.startsWith('onnx') ? skippedOn('onnx-web (wasm)') : skippedOn('js');
        expect(skippedOn(suite.backend), suite.backend).toEqual(reference);
      }
    }

    // The seed example: npm start's checksum on every float32 backend, bit for bit; the quantized
    // ones within their declared storage bound of adapter-js's output in the same page.
    const [expected] = await runDemo([{ name: 'js', create: async () => createJsBackend() }]);
    expect(expected?.checksum).toMatch(/^[0-9a-f]{8}$/);
    expect(results.seed.map((r) => r.backend)).toEqual(names);
    for (const row of results.seed) {
      expect(row.shape, row.backend).toEqual([SEED_EXAMPLE.batch, SEED_EXAMPLE.inputLength, SEED_EXAMPLE.outputDim]);
      expect(row.agrees, row.backend).toBe(true);
      if (row.storage === 'float32') {
        expect(row.checksum, row.backend).toBe(expected!.checksum);
        expect(row.maxAbsDiff, row.backend).toBe(0);
      } else {
        expect(row.maxBound, row.backend).toBeGreaterThan(0);
        expect(row.maxAbsDiff, row.backend).toBeLessThanOrEqual(row.maxBound);
      }
    }

    // Index 1000 on a 1000-row table: TF.js WebGL's own gather returns zeros, our layer rejects.
    const zeros = results.zeros;
    if (results.webgl.available) {
      expect(zeros.tfBackend).toBe('webgl');
      expect(zeros.rawError).toBeUndefined();
      expect(zeros.rawOutOfRangeAllZero).toBe(true);
      expect(zeros.rawLastRow?.every((v) => v >= 0.5 && v < 1.5)).toBe(true);
      expect(zeros.layerBackend).toBe('tfjs-webgl');
    } else {
      expect(zeros.tfBackend).toBe('cpu');
    }
    expect(zeros.layerLastRowChecksum).toMatch(/^[0-9a-f]{8}$/);
    expect(zeros.layerError).toMatchObject({ name: 'InvalidIndexError', code: 'INVALID_INDEX' });

    // The same on TF.js's webgpu backend (its WGSL gather multiplies an out-of-range row by 0).
    const onWebgpu = results.zerosWebgpu!;
    expect(onWebgpu).toMatchObject({ tfBackend: 'webgpu', layerBackend: 'tfjs-webgpu' });
    expect(onWebgpu.rawError).toBeUndefined();
    expect(onWebgpu.rawOutOfRangeAllZero).toBe(true);
    expect(onWebgpu.rawLastRow).toEqual(zeros.rawLastRow);
    expect(onWebgpu.layerLastRowChecksum).toBe(zeros.layerLastRowChecksum);
    expect(onWebgpu.layerError).toMatchObject({ name: 'InvalidIndexError', code: 'INVALID_INDEX' });

    // adapter-tfjs on webgpu declares the device's binding limit (TF.js asks for the adapter's own) as maxTableBytes.
    expect(results.tfjsWebgpuMaxTableBytes).toBe(Math.min(webgpu.maxStorageBufferBindingSize!, webgpu.maxBufferSize!));

    // A float16 table on onnxruntime-web 1.30's webgpu EP without shader-f16: its own session
    // returns zeros for valid rows (invalid f16 shaders); our layer refuses. With shader-f16 both work.
    const f16 = results.ortFloat16!;
    expect(f16.shaderF16).toBe(webgpu.shaderF16);
    if (!f16.shaderF16) {
      expect(f16.rawAllZero).toBe(true);
      expect(f16.expected?.some((v) => v !== 0)).toBe(true);
      expect(f16.layerError).toMatchObject({ name: 'InvalidConfigError', code: 'INVALID_CONFIG' });
    } else {
      expect(f16.rawOutput).toEqual(f16.expected);
      expect(f16.layerError).toBeNull();
      expect(f16.layerAgrees).toBe(true);
    }

    // A 300k x 128 float32 table (153.6 MB) with 128 MiB bindings: adapter-webgpu splits it and
    // gives adapter-js's bits on both sides of the split; TF.js (1 GiB binding here) too;
    // onnxruntime-web's own session returns zeros, our onnx-webgpu refuses with LIMIT_EXCEEDED,
    // and its int8 table (38.4 MB) fits and stays within its bound.
    const big = results.bigTable!;
    expect(big.tableBytes).toBe(300_000 * 128 * 4);
    expect(big.tableBytes).toBeGreaterThan(2 ** 27);
    const row = (name: string) => big.results.find((r) => r.backend === name)!;
    expect(row('webgpu')).toMatchObject({ bindingLimit: 2 ** 27, bitwise: true, zeros: 0 });
    expect(row('tfjs-webgpu')).toMatchObject({ bitwise: true, zeros: 0 });
    expect(row('onnx-webgpu').error).toMatchObject({ name: 'LimitExceededError', code: 'LIMIT_EXCEEDED' });
    expect(row('onnx-webgpu').bindingLimit).toBe(2 ** 27);
    // (int8 may round a small value to 0: only the bound is checked there.)
    expect(row('onnx-webgpu int8')).toMatchObject({ withinBound: true });
    const raw = big.results.find((r) => r.backend.startsWith('raw onnxruntime-web'))!;
    expect(raw.error).toBeUndefined();
    expect(raw.zeros).toBe(big.ids.length * big.outputDim);
  }, 900_000);

  it('the benchmark page measures lookups per second on every backend and names the WebGPU adapter', async () => {
    // A short run (0.2 s per measurement, a small table): that it runs and agrees, not how fast.
    const { page, pageErrors, foreign } = await open('bench.html?seconds=0.2&rows=5000&batches=320');
    const bench = (await page.evaluate(() => window.__EMBEDDING_BENCH__)) as BenchResults | { error: string };
    mkdirSync(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: join(RESULTS_DIR, 'bench-results.png'), fullPage: true });
    writeFileSync(join(RESULTS_DIR, 'bench-results.json'), `${JSON.stringify(bench, null, 2)}\n`);
    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
    if ('error' in bench) throw new Error(`the benchmark page failed: ${bench.error}`);
    const a = bench.webgpu.adapter!;
    expect(bench.adapterName).toContain([a.vendor, a.architecture, a.device, a.description].filter((x) => x !== '').join(' '));
    expect(await page.textContent('#note')).toContain(bench.adapterName);
    const measured = bench.rows.filter((r) => !r.error);
    expect(measured.map((r) => r.backend)).toEqual(
      expect.arrayContaining([
        'js',
        'tfjs-cpu',
        'onnx-web (wasm)',
        'tfjs-webgpu',
        'onnx-webgpu',
        'onnx-webgpu int8',
        'webgpu',
        'webgpu float16',
        'webgpu int8',
      ]),
    );
    for (const r of bench.rows.filter((x) => x.error)) expect(r.error, r.backend).toMatch(/INVALID_CONFIG.*shader-f16/);
    for (const r of measured) {
      expect(r.calls, r.backend).toBeGreaterThanOrEqual(3);
      expect(r.lookupsPerSecond, r.backend).toBeGreaterThan(0);
    }
    // The same indices on the same seeded table: every float32 backend's last output has the same bits.
    const float32 = new Set(measured.filter((r) => r.storage === 'float32').map((r) => r.checksum));
    expect(float32.size).toBe(1);
  }, 600_000);
});
