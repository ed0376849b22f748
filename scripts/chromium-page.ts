// What the two real-browser tests (browser/test/browser.test.ts and adapter-webgpu's
// test/webgpu.test.ts) share: Debian's chromium (never a downloaded browser) with its flags, the
// skip-or-fail rule for a missing chromium, and a vite-built page served on 127.0.0.1 (a secure
// context, which WebGPU needs) on a port the OS picks.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PreviewServer, preview } from 'vite';

/**
 * Chromium flags: WebGL and WebGPU through SwiftShader (no GPU here; Linux chromium exposes
 * WebGPU only with --enable-unsafe-webgpu), and nothing that phones home.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

function findChromium(): string | undefined {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Debian's chromium, or undefined when it is not installed. */
export const CHROMIUM: string | undefined = findChromium();
/** Set by .ci/run: a test that would skip for a missing prerequisite fails instead. */
export const REQUIRED: boolean = process.env.EMBEDDING_LAYER_REQUIRE_SHARED === '1';
/** Why a browser test skips without chromium. */
export const MISSING =
  "Debian's package chromium is not installed (apt-get install -y chromium; .ci/run installs it). EMBEDDING_LAYER_REQUIRE_SHARED=1 turns this skip into a failure";

/** The chromium executable; throws the skip reason as an error when there is none. */
export function whichChromium(): string {
  if (!CHROMIUM) throw new Error(`${MISSING}.`);
  return CHROMIUM;
}

const VITE_PACKAGE = fileURLToPath(import.meta.resolve('vite/package.json'));
const VITE_BIN = join(dirname(VITE_PACKAGE), (JSON.parse(readFileSync(VITE_PACKAGE, 'utf8')) as { bin: { vite: string } }).bin.vite);

/** `vite build --config configFile` in a child process (production mode, away from vitest's NODE_ENV=test). */
export function buildPage(configFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const { NODE_ENV: _, ...env } = process.env;
    const child = spawn(process.execPath, [VITE_BIN, 'build', '--config', configFile], {
      cwd: dirname(configFile),
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

/** A built page served by `vite preview`: its URL and how to stop the server. */
export interface ServedPage {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the page `configFile` built with `vite preview` on 127.0.0.1, port 0 (the OS picks a free one). */
export async function servePage(configFile: string): Promise<ServedPage> {
  const server: PreviewServer = await preview({
    configFile,
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
  });
  const { port } = server.httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.httpServer.close(() => resolve())),
  };
}
