#!/usr/bin/env node
// Lookups per second on whatever WebGPU adapter Debian's chromium reports (headless): builds the
// test page (test/page), serves it on 127.0.0.1 and runs its benchmark (window.__webgpu.bench):
// predict (gather + readback), lookupNative (gather only, waited for) and adapter-js in the same
// page, for float32 and int8 storage. Prints the adapter's name with the results.
//
//   node bench/run.mjs [--rows 100000] [--dim 64] [--batch 4096] [--seconds 2] [--gpu]
//
// --gpu drops the SwiftShader flags so chromium picks a hardware adapter where there is one. On
// the software adapter (SwiftShader) this is a correctness run, not a speed claim.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';

const config = fileURLToPath(new URL('../test/vite.config.ts', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const options = { rows: arg('rows', 100_000), outputDim: arg('dim', 64), batch: arg('batch', 4096), seconds: arg('seconds', 2) };
const software = !process.argv.includes('--gpu');

await build({ configFile: config, root: fileURLToPath(new URL('../test/page', import.meta.url)), mode: 'production' });
const server = await preview({
  configFile: config,
  logLevel: 'warn',
  preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
});
const executablePath = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', ...(software ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] : [])],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.httpServer.address().port}/`);
  await page.waitForSelector('body[data-ready]');
  const result = await page.evaluate((o) => window.__webgpu.bench(o), options);
  console.log(`adapter: ${result.adapter}${software ? ' (SwiftShader flags: a correctness run, not a speed claim)' : ''}`);
  console.log(`table ${result.rows} x ${result.outputDim}, batches of ${options.batch} indices, ${options.seconds} s per row`);
  console.log('| path | storage | lookups/s | batches | ms |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const r of result.results) {
    console.log(
      `| ${r.path} | ${r.storage} | ${Math.round(r.lookupsPerSecond).toLocaleString('en-US')} | ${r.iterations} | ${r.ms.toFixed(0)} |`,
    );
  }
  console.log(`\n${result.userAgent}`);
} finally {
  await browser.close();
  server.httpServer.close();
}
