// adapter-webgpu in a real browser: builds test/page with vite, serves it with `vite preview`
// on 127.0.0.1 (a secure context: WebGPU needs one), opens it in Debian's chromium (headless,
// playwright-core, WebGPU on the SwiftShader software adapter) and asserts on what each of the
// page's checks (window.__webgpu) computed there. Without chromium it skips visibly; with
// EMBEDDING_LAYER_REQUIRE_SHARED=1 (CI) a missing chromium or WebGPU is a failure.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFORMANCE_CASES } from '@embedding-layer/conformance';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendChoice, PageApi } from './page/api.js';

const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
const CONFIG = join(TEST_DIR, 'vite.config.ts');
const VITE_PACKAGE = fileURLToPath(import.meta.resolve('vite/package.json'));
const VITE_BIN = join(dirname(VITE_PACKAGE), (JSON.parse(readFileSync(VITE_PACKAGE, 'utf8')) as { bin: { vite: string } }).bin.vite);

/** WebGPU on SwiftShader (no GPU here), and nothing that phones home. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function findChromium(): string | undefined {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const CHROMIUM = findChromium();
const REQUIRED = process.env.EMBEDDING_LAYER_REQUIRE_SHARED === '1';
const MISSING =
  "Debian's package chromium is not installed (apt-get install -y chromium; .ci/run installs it). EMBEDDING_LAYER_REQUIRE_SHARED=1 turns this skip into a failure";

function buildPage(): Promise<void> {
  return new Promise((resolve, reject) => {
    const { NODE_ENV: _, ...env } = process.env;
    const child = spawn(process.execPath, [VITE_BIN, 'build', '--config', CONFIG], {
      cwd: TEST_DIR,
      env: { ...env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}:\n${output}`))));
  });
}

describe.skipIf(!CHROMIUM && !REQUIRED)(`adapter-webgpu in headless Chromium (WebGPU)${CHROMIUM ? '' : ` (skipped: ${MISSING})`}`, () => {
  let server: PreviewServer | undefined;
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
    await buildPage();
    server = await preview({
      configFile: CONFIG,
      logLevel: 'warn',
      preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
    });
    const { port } = server.httpServer.address() as AddressInfo;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    const probe = await call('probe');
    if (!probe.available) throw new Error(`WebGPU is not available in this chromium: ${probe.reason}`);
    console.log(`WebGPU adapter: ${probe.adapter}, maxStorageBufferBindingSize ${probe.maxStorageBufferBindingSize}`);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
    expect(pageErrors).toEqual([]);
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
      // float32 storage skips only the export case (no export format declared); lossy storages
      // also skip what they cannot hold (bit patterns, NaN on int8), each with the reason.
      const skipped = results.filter((r) => r.status === 'skip');
      if (!choice.storage) expect(skipped.map((r) => r.id)).toEqual(['export/declared-formats']);
      for (const s of skipped) expect(s.message).toBeTruthy();
    }, 180_000);
  }
});
