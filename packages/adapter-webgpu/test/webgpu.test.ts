// adapter-webgpu in a real browser: builds test/page with vite, serves it with `vite preview`
// on 127.0.0.1 (a secure context: WebGPU needs one), opens it in Debian's chromium (headless,
// playwright-core, WebGPU on the SwiftShader software adapter) and asserts on what each of the
// page's checks (window.__webgpu) computed there. Without chromium it skips visibly; with
// EMBEDDING_LAYER_REQUIRE_SHARED=1 (CI) a missing chromium or WebGPU is a failure.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFORMANCE_CASES } from '@embedding-layer/conformance';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, CHROMIUM, CHROMIUM_ARGS, MISSING, REQUIRED, type ServedPage, servePage } from '../../../scripts/chromium-page.js';
import type { BackendChoice, PageApi } from './page/api.js';

const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
const CONFIG = join(TEST_DIR, 'vite.config.ts');
describe.skipIf(!CHROMIUM && !REQUIRED)(`adapter-webgpu in headless Chromium (WebGPU)${CHROMIUM ? '' : ` (skipped: ${MISSING})`}`, () => {
  let server: ServedPage | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  /** Calls one of the page's checks. */
  function call<K extends keyof PageApi>(name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>> {
    return page.evaluate(([n, a]) => (window.__webgpu![n as keyof PageApi] as (...x: unknown[]) => Promise<unknown>)(...(a as unknown[])), [
      name,
      args,
    ] as const) as Promise<Awaited<ReturnType<PageApi[K]>>>;
  }

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error(`${MISSING}.`);
    await buildPage(CONFIG);
    server = await servePage(CONFIG);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    const probe = await call('probe');
    if (!probe.available) throw new Error(`WebGPU is not available in this chromium: ${probe.reason}`);
    console.log(`WebGPU adapter: ${probe.adapter}, maxStorageBufferBindingSize ${probe.maxStorageBufferBindingSize}`);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    expect(pageErrors).toEqual([]);
  });

  it("runs the README's example as written, and it logs what its comments say", async () => {
    const lines = await call('readmeExample');
    expect(lines.length).toBe(2);
    for (const { logged, comment } of lines) expect(logged.replaceAll(' ', '')).toBe(comment.replaceAll(' ', ''));
  });

  const suites: [string, BackendChoice][] = [
    ['float32', {}],
    ['float32, 64-byte bindings (a split every row or two)', { maxBindingBytes: 64 }],
    ['float16', { storage: 'float16' }],
    ['int8', { storage: 'int8' }],
    ['int8, 64-byte bindings', { storage: 'int8', maxBindingBytes: 64 }],
  ];
  for (const [name, choice] of suites) {
    it(`passes every conformance case (${name})`, async () => {
      const results = await call('conformance', choice);
      expect(results.map((r) => r.id)).toEqual(CONFORMANCE_CASES.map((c) => c.id));
      const failures = results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.message}`);
      expect(failures).toEqual([]);
      // It skips exactly what adapter-js skips with the same storage (what the storage cannot
      // hold, no export format), each with the reason.
      const skipped = results.filter((r) => r.status === 'skip');
      expect(skipped.map((r) => r.id)).toEqual(await call('jsSkips', choice.storage ?? 'float32'));
      for (const s of skipped) expect(s.message).toBeTruthy();
    }, 180_000);
  }

  for (const [storage, maxBindingBytes] of [
    ['float32', undefined],
    ['float32', 512],
    ['float16', undefined],
    ['int8', undefined],
    ['int8', 512],
  ] as const) {
    it(`gives adapter-js's bits for the same weights (${storage}${maxBindingBytes ? `, ${maxBindingBytes}-byte bindings` : ''}; odd output_dim, hard values)`, async () => {
      const r = await call('compareWithJs', {
        storage,
        ...(maxBindingBytes ? { maxBindingBytes } : {}),
        rows: 300,
        outputDim: 37,
        count: 4000,
      });
      expect(r.values).toBe(4000 * 37);
      if (maxBindingBytes) expect(r.splits).toBeGreaterThan(20);
      else expect(r.splits).toBe(1);
      // Every value within the storage's declared bound of the weight it stores...
      expect(r.maxBoundRatio).toBeLessThanOrEqual(1);
      // ...and, measured on this adapter, bit for bit what core's codec decodes on the CPU.
      expect(r.differentBits, JSON.stringify(r.firstDifference)).toBe(0);
    });
  }

  it("int8: the shader decodes q / scale with the bits of core's codec on 4,096 rows of every q value (255 columns)", async () => {
    const r = await call('compareWithJs', { storage: 'int8', rows: 4096, outputDim: 255, count: 4096 });
    expect(r.maxBoundRatio).toBeLessThanOrEqual(1);
    expect(r.differentBits, JSON.stringify(r.firstDifference)).toBe(0);
  }, 120_000);

  it('holds a 300,000 x 128 float32 table (146 MiB) in buffers of at most the device binding limit, and looks up rows on both sides of every split', async () => {
    const r = await call('bigTable');
    expect(r.tableBytes).toBeGreaterThan(r.bindingLimit);
    expect(r.splits).toBe(Math.ceil(r.rows / Math.floor(r.bindingLimit / (r.outputDim * 4))));
    expect(r.splits).toBeGreaterThanOrEqual(2);
    expect(r.rowsPerSplit * r.outputDim * 4).toBeLessThanOrEqual(r.bindingLimit);
    for (let s = 1; s < r.splits; s++) {
      expect(r.checkedRows).toContain(s * r.rowsPerSplit - 1);
      expect(r.checkedRows).toContain(s * r.rowsPerSplit);
    }
    expect(r.mismatches).toEqual([]);
    expect(r.readRowsMismatches).toBe(0);
    expect(r.nativeMismatches).toBe(0);
  }, 180_000);

  it('lookupNative hands the rows over in a GPUBuffer with the bits predict reads back, computeMaskNative the mask; core validates first', async () => {
    for (const choice of [{}, { storage: 'int8' as const }, { maxBindingBytes: 64 }]) {
      const r = await call('native', choice);
      expect(r.shape).toEqual([3, 20, 9]);
      expect(r.equal, JSON.stringify(choice)).toBe(true);
      expect(r.mask.shape).toEqual([3, 20]);
      expect(r.mask.values).toEqual(r.mask.expected);
      expect(r.mask.expected).toContain(0);
      expect(r.badIndex).toMatchObject({ name: 'InvalidIndexError', code: 'INVALID_INDEX' });
    }
  });

  // SGD and Adagrad on float32 tables run on the GPU (declared relativeError per step); the
  // other optimizers, and every optimizer on float16/int8 tables, are core's steps added on
  // the GPU: bit for bit adapter-js's.
  for (const [storage, optimizer, gpuStep] of [
    ['float32', 'sgd', true],
    ['float32', 'adagrad', true],
    ['float32', 'adam', false],
    ['float16', 'adam', false],
    ['float16', 'sgd', false],
    ['int8', 'rmsprop', false],
  ] as const) {
    it(`trains (${optimizer}, ${storage}) to adapter-js's weights, ${gpuStep ? 'the optimizer step on the GPU within its declared error' : "core's step added in a compute pass, bit for bit"}`, async () => {
      const r = await call('training', { storage, optimizer });
      expect(r.values).toBe(40 * 6);
      expect(r.moved).toBe(true);
      if (gpuStep) {
        expect(r.onGpu).toBeGreaterThan(0);
        expect(r.maxRelative).toBeLessThanOrEqual(r.steps * r.onGpu!);
      } else {
        expect(r.onGpu).toBeNull();
        expect(r.differentBits).toBe(0);
      }
    });
  }

  it("refuses a table whose one row passes the device's binding limit with LIMIT_EXCEEDED, naming both sizes", async () => {
    const r = await call('rowTooLarge');
    expect(r.error).toMatchObject({ name: 'LimitExceededError', code: 'LIMIT_EXCEEDED' });
    expect(r.error!.message).toContain(String(r.limit + 4));
    expect(r.error!.message).toContain(String(r.limit));
  });

  it('a dispatch WebGPU refuses (validation error) is a typed error, never the zeros it leaves; the next lookup works', async () => {
    const r = await call('refused');
    expect(r.before).toBe(true);
    expect(r.refused).toMatchObject({ name: 'EmbeddingError', code: 'BACKEND_UNAVAILABLE' });
    expect(r.refused!.message).toMatch(/WebGPU refused the lookup/);
    expect(r.after).toBe(true);
  });

  it('setWeights switches the whole table at once: lookups running meanwhile see the old rows or the new, never a mix', async () => {
    const r = await call('atomicReplace');
    expect(r.mixed).toBe(0);
    expect(r.old + r.new).toBeGreaterThan(0);
  });

  it('a lost device (device.destroy()) is a DeviceLostError on every later call, and never gives rows', async () => {
    const r = await call('deviceLoss');
    expect(r.before).toBe('rows correct');
    expect(r.lostReason).toBe('destroyed');
    const inFlight = r.after['lookup in flight at destroy()'];
    // The lookup submitted before destroy() may finish (then with the table's rows) or fail typed.
    if (inFlight && 'resolved' in inFlight) expect(inFlight.rowsCorrect).toBe(true);
    else expect(inFlight).toMatchObject({ name: 'DeviceLostError', code: 'DEVICE_LOST' });
    const { ['lookup in flight at destroy()']: _, ...rest } = r.after;
    expect(Object.keys(rest)).toEqual([
      'lookup right after destroy()',
      'predict',
      'predict into a buffer',
      'readRows',
      'getWeights',
      'writeRows',
      'lookupNative',
      'trainOnBatch',
    ]);
    for (const [name, outcome] of Object.entries(rest))
      expect(outcome, name).toMatchObject({ name: 'DeviceLostError', code: 'DEVICE_LOST' });
    expect(r.disposeAfterLoss).toBe('ok');
  });
});
