import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MissingPeerError } from '@embedding-layer/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeLoadFailure, type KnownBackend, loadBackends, missingPackageOf } from './backends.js';
import { CLI_VERSION, createProgram, runCli } from './program.js';

/** Runs the CLI in-process with commander's exits and output captured. */
async function cli(...args: string[]): Promise<{ out: string; err: string; exit: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = createProgram()
    .exitOverride()
    .configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
  for (const c of program.commands)
    c.exitOverride().configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
  process.exitCode = undefined;
  let exit: number | undefined;
  try {
    await runCli(args, program);
    exit = process.exitCode === undefined ? undefined : Number(process.exitCode);
  } catch (error) {
    exit = (error as { exitCode?: number }).exitCode ?? -1;
  }
  process.exitCode = undefined;
  return { out: out.join(''), err: err.join(''), exit };
}

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('the embedding-layer program', () => {
  it('--version prints the version of @embedding-layer/cli', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CLI_VERSION).toBe(pkg.version);
    const { out, exit } = await cli('--version');
    expect(out.trim()).toBe(pkg.version);
    expect(exit).toBe(0);
  });

  it('names an unknown command as such (not "too many arguments for demo")', async () => {
    const { err, exit } = await cli('frob');
    expect(err).toContain("unknown command 'frob'");
    expect(err).not.toContain('too many arguments');
    expect(exit).toBe(1);
    const typo = await cli('convrt', 'a.h5', 'b.npy');
    expect(typo.err).toContain("unknown command 'convrt'");
    expect(typo.err).toContain('convert');
  });

  it('with no command runs demo', async () => {
    const program = createProgram();
    const demo = program.commands.find((c) => c.name() === 'demo')!;
    let ran = 0;
    demo.action(() => {
      ran++;
    });
    await runCli([], program);
    expect(ran).toBe(1);
  });

  it('convert into a folder that does not exist is a typed error naming the path given, not a temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-convert-'));
    try {
      const input = join(dir, 'table.npy');
      // A 2x3 float32 .npy (format 1.0, header padded to 128 bytes).
      const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
      const padded = `${header}${' '.repeat(128 - 10 - header.length - 1)}\n`;
      const bytes = Buffer.concat([
        Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, padded.length & 0xff, padded.length >> 8]),
        Buffer.from(padded, 'latin1'),
        Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer),
      ]);
      writeFileSync(input, bytes);
      const output = join(dir, 'no-such-folder', 'out.safetensors');
      const { err, exit } = await cli('convert', input, output);
      expect(exit).toBe(1);
      expect(err).toMatch(/^error \(BAD_FILE\): /);
      expect(err).toContain(output);
      expect(err).not.toMatch(/\.tmp\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('demo names the package that is actually missing', () => {
  const notFound = (spec: string, kind: 'package' | 'module' = 'package') =>
    Object.assign(new Error(`Cannot find ${kind} '${spec}' imported from /app/node_modules/x/dist/index.js`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });

  it('reads the package from the resolver message', () => {
    expect(missingPackageOf(notFound('onnxruntime-node'))).toBe('onnxruntime-node');
    expect(missingPackageOf(notFound('@embedding-layer/adapter-onnx'))).toBe('@embedding-layer/adapter-onnx');
    expect(missingPackageOf(notFound('/app/node_modules/@tensorflow/tfjs/dist/index.js', 'module'))).toBe('@tensorflow/tfjs');
    expect(missingPackageOf(notFound('./local.js', 'module'))).toBeUndefined();
    expect(missingPackageOf(new Error('something else'))).toBeUndefined();
  });

  it('blames the runtime peer when only the peer is missing, the adapter when the adapter is', () => {
    const adapter = '@embedding-layer/adapter-onnx';
    expect(describeLoadFailure(adapter, new MissingPeerError('onnxruntime-node'))).toBe(
      'onnxruntime-node not installed (the runtime peer of @embedding-layer/adapter-onnx): npm install onnxruntime-node',
    );
    expect(describeLoadFailure(adapter, notFound('onnxruntime-node'))).toBe(
      'onnxruntime-node not installed (needed by @embedding-layer/adapter-onnx): npm install onnxruntime-node',
    );
    expect(describeLoadFailure(adapter, notFound(adapter))).toBe('@embedding-layer/adapter-onnx not installed');
    expect(describeLoadFailure(adapter, new Error('bad binary\nstack'))).toBe('@embedding-layer/adapter-onnx not usable: bad binary');
  });

  it('loadBackends reports each failure with its package', async () => {
    const known: KnownBackend[] = [
      {
        name: 'peerless',
        packageName: '@embedding-layer/adapter-onnx',
        create: () => Promise.reject(new MissingPeerError('onnxruntime-node')),
      },
      { name: 'absent', packageName: '@x/adapter', create: () => Promise.reject(notFound('@x/adapter')) },
    ];
    expect(await loadBackends(undefined, known)).toEqual([
      {
        name: 'peerless',
        missing: expect.stringMatching(/^onnxruntime-node not installed \(the runtime peer of @embedding-layer\/adapter-onnx\)/),
      },
      { name: 'absent', missing: '@x/adapter not installed' },
    ]);
  });
});
