// The real-browser test: builds the page with vite, serves it with `vite preview` on
// 127.0.0.1, opens it in Debian's chromium (headless, through playwright-core, never a
// downloaded browser), and checks what the page computed: every conformance case passed on
// every backend, the seed example's checksum equals `npm start`'s on every backend, and
// TF.js WebGL's raw gather returns zeros for an out-of-range index where our layer rejects.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { runDemo, SEED_EXAMPLE } from '@embedding-layer/cli';
import { CONFORMANCE_CASES } from '@embedding-layer/conformance';
import { type BrowserContext, chromium } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageResults } from '../src/results.js';

const BROWSER_DIR = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(BROWSER_DIR, 'vite.config.ts');
const RESULTS_DIR = join(BROWSER_DIR, 'results');
const VITE_PACKAGE = fileURLToPath(import.meta.resolve('vite/package.json'));
const VITE_BIN = join(dirname(VITE_PACKAGE), (JSON.parse(readFileSync(VITE_PACKAGE, 'utf8')) as { bin: { vite: string } }).bin.vite);

/** Chromium flags: WebGL through SwiftShader (no GPU here), and nothing that phones home. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Debian's chromium, or undefined when it is not installed. */
function findChromium(): string | undefined {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const CHROMIUM = findChromium();
/** Set by .ci/run: a test that would skip for a missing prerequisite fails instead. */
const REQUIRED = process.env.EMBEDDING_LAYER_REQUIRE_SHARED === '1';
const MISSING =
  "Debian's package chromium is not installed (apt-get install -y chromium; .ci/run installs it). EMBEDDING_LAYER_REQUIRE_SHARED=1 turns this skip into a failure";

function whichChromium(): string {
  if (!CHROMIUM) throw new Error(`${MISSING}.`);
  return CHROMIUM;
}

/** `vite build` in a child process (production mode, away from vitest's NODE_ENV=test). */
function buildPage(): Promise<void> {
  return new Promise((resolve, reject) => {
    const { NODE_ENV: _, ...env } = process.env;
    const child = spawn(process.execPath, [VITE_BIN, 'build', '--config', CONFIG], {
      cwd: BROWSER_DIR,
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

describe.skipIf(!CHROMIUM && !REQUIRED)(`the page in headless Chromium${CHROMIUM ? '' : ` (skipped: ${MISSING})`}`, () => {
  let server: PreviewServer | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let url = '';

  beforeAll(async () => {
    whichChromium();
    await buildPage();
    // Port 0: the OS picks a free port on 127.0.0.1.
    server = await preview({
      configFile: CONFIG,
      logLevel: 'warn',
      preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
    });
    const address = server.httpServer.address() as AddressInfo;
    url = `http://127.0.0.1:${address.port}/`;
  }, 150_000);

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('runs the seed example and every conformance case on js, tfjs (webgl, cpu) and onnx-web, and our layer rejects the index WebGL reads as zeros', async () => {
    const executablePath = whichChromium();
    userDataDir = mkdtempSync(join(tmpdir(), 'embedding-layer-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: CHROMIUM_ARGS });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Only the page's own origin: a request anywhere else (a CDN) fails the test.
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('data:') && !request.url().startsWith('blob:'))
        foreign.push(request.url());
    });

    await page.goto(url);
    await page.waitForSelector('body[data-status]', { timeout: 150_000 });
    const results = (await page.evaluate(() => window.__EMBEDDING_RESULTS__)) as PageResults | { error: string };
    mkdirSync(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: join(RESULTS_DIR, 'browser-results.png'), fullPage: true });
    writeFileSync(join(RESULTS_DIR, 'browser-results.json'), `${JSON.stringify(results, null, 2)}\n`);

    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
    if ('error' in results) throw new Error(`the page failed: ${results.error}`);
    if (!results.webgl.available) console.warn(`No WebGL in headless Chromium (${results.webgl.reason}): TF.js ran on cpu only.`);

    // Every case passed on every backend.
    const names = results.conformance.map((s) => s.backend);
    expect(names).toEqual(['js', ...(results.webgl.available ? ['tfjs-webgl'] : []), 'tfjs-cpu', 'onnx-web (wasm)']);
    for (const suite of results.conformance) {
      expect(suite.results.map((r) => r.id)).toEqual(CONFORMANCE_CASES.map((c) => c.id));
      const failures = suite.results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.message}`);
      expect(failures, suite.backend).toEqual([]);
    }

    // The seed example: npm start's checksum, on every backend, bit for bit.
    const [expected] = await runDemo([{ name: 'js', create: async () => createJsBackend() }]);
    expect(expected?.checksum).toMatch(/^[0-9a-f]{8}$/);
    expect(results.seed.map((r) => r.backend)).toEqual(names);
    for (const row of results.seed) {
      expect(row.shape, row.backend).toEqual([SEED_EXAMPLE.batch, SEED_EXAMPLE.inputLength, SEED_EXAMPLE.outputDim]);
      expect(row.checksum, row.backend).toBe(expected!.checksum);
      expect(row.agrees, row.backend).toBe(true);
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
  }, 180_000);
});
