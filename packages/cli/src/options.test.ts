import { describe, expect, it } from 'vitest';
import { parseBenchOptions } from './commands/bench.js';
import { backendsFor } from './commands/conformance.js';
import { factoryCandidates } from './module-factory.js';
import { parseBackendNames, parseChoices, splitList, UsageError } from './options.js';

describe('--backend', () => {
  it('accepts known names and aliases, in the known order, without duplicates', () => {
    expect(parseBackendNames('onnx, js')).toEqual(['js', 'onnx']);
    expect(parseBackendNames('tfjs,tfjs-wasm,TFJS-CPU')).toEqual(['tfjs-cpu', 'tfjs-wasm']);
  });

  it('rejects an unknown name and lists the known ones', () => {
    expect(() => parseBackendNames('js,webgpu')).toThrow(UsageError);
    expect(() => parseBackendNames('webgpu')).toThrow(/Unknown backend "webgpu"\. Known backends: js, tfjs-cpu, tfjs-wasm, onnx/);
    expect(() => parseBackendNames(' , ')).toThrow(/at least one/);
  });

  it('refuses --factory without --module', async () => {
    await expect(backendsFor({ factory: 'createX' })).rejects.toThrow(/--factory needs --module/);
  });
});

describe('lists', () => {
  it('splits comma-separated values', () => {
    expect(splitList(' S, M ,,S ')).toEqual(['S', 'M']);
    expect(parseChoices('--workload', 'xl,s', ['S', 'M', 'L', 'XL'])).toEqual(['S', 'XL']);
    expect(() => parseChoices('--workload', 'XXL', ['S', 'M'])).toThrow('Unknown --workload value "XXL". Allowed: S, M.');
  });
});

describe('bench options', () => {
  it('defaults every report into --out-dir', () => {
    const parsed = parseBenchOptions({ workload: 'S,M,L,XL', outDir: 'bench/results' }, {});
    expect(parsed.workloads).toEqual(['S', 'M', 'L', 'XL']);
    expect(parsed.targets).toBeUndefined();
    expect(parsed.python).toBe('python3');
    expect(parsed.outputs).toEqual({
      json: 'bench/results/bench.json',
      markdown: 'bench/results/bench.md',
      svg: 'bench/results/bench.svg',
    });
  });

  it('takes explicit paths and targets', () => {
    const parsed = parseBenchOptions({ workload: 'l', outDir: 'x', svg: 'chart.svg', target: 'onnx,copy' });
    expect(parsed.workloads).toEqual(['L']);
    expect(parsed.targets).toEqual(['copy', 'onnx']);
    expect(parsed.outputs.svg).toBe('chart.svg');
    expect(parsed.outputs.json).toBe('x/bench.json');
    expect(() => parseBenchOptions({ workload: 'S', outDir: 'x', target: 'webgl' })).toThrow(/Unknown --target value "webgl"/);
  });

  it('takes --backend as conformance does: those backends with their raw peers and the copy limits; --target adds exact targets', () => {
    expect(parseBenchOptions({ workload: 'M', outDir: 'x', backend: 'redis' }).targets).toEqual(['copy', 'alloc+copy', 'redis']);
    // js's raw peer is PyTorch (skipped at run time when no python with torch is found).
    expect(parseBenchOptions({ workload: 'M', outDir: 'x', backend: 'redis,js' }).targets).toEqual([
      'copy',
      'alloc+copy',
      'js',
      'redis',
      'torch',
    ]);
    expect(parseBenchOptions({ workload: 'M', outDir: 'x', backend: 'tfjs-cpu' }).targets).toContain('tf.gather@cpu');
    expect(parseBenchOptions({ workload: 'M', outDir: 'x', backend: 'redis', target: 'js' }).targets).toEqual([
      'copy',
      'alloc+copy',
      'js',
      'redis',
    ]);
    expect(() => parseBenchOptions({ workload: 'S', outDir: 'x', backend: 'copy' })).toThrow(/Unknown --backend value "copy"/);
  });

  it('names the torch interpreter by --python, else EMBEDDING_LAYER_PYTHON, else python3', () => {
    const env = { EMBEDDING_LAYER_PYTHON: '/usr/bin/python3' };
    expect(parseBenchOptions({ workload: 'S', outDir: 'x' }, env).python).toBe('/usr/bin/python3');
    expect(parseBenchOptions({ workload: 'S', outDir: 'x', python: '/opt/py/bin/python' }, env).python).toBe('/opt/py/bin/python');
    expect(parseBenchOptions({ workload: 'S', outDir: 'x' }, {}).python).toBe('python3');
    expect(parseBenchOptions({ workload: 'S', outDir: 'x', readme: 'README.md' }, {}).outputs.readme).toBe('README.md');
  });
});

describe('--module', () => {
  it('finds create...Backend factories among the exports', () => {
    expect(factoryCandidates({ createFooBackend: () => 0, createBar: () => 0, createBazBackend: 1, VERSION: '1' })).toEqual([
      'createFooBackend',
    ]);
  });
});
