import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpyBytes } from '../../src/formats/npy.js';
import { readOnnxBytes } from '../../src/formats/onnx.js';
import { readSafetensorsBytes } from '../../src/formats/safetensors.js';
import { readTfjs } from '../../src/formats/tfjs.js';
import { REAL_DIR } from '../real-fixtures.js';
import { ownExports, REAL_BASES_NOTE, realBases } from './bases.js';
import { cleanup, FUZZ_CASES, FUZZ_SEED, type FuzzBase, fuzz, put, scratchDir } from './harness.js';
import { report } from './report.js';

const dir = scratchDir('other');
afterAll(() => cleanup(dir));

describe('mutation fuzzing of the in-memory readers', () => {
  it(`npy: ${FUZZ_CASES} mutated files (seed ${FUZZ_SEED})`, async () => {
    const bases = await ownExports(dir, '.npy', [{}, { npyDtype: 'float16' }, { npyDtype: 'float64' }], 1);
    const stats = await fuzz({
      format: 'npy',
      seed: FUZZ_SEED,
      count: FUZZ_CASES,
      bases,
      inflight: join(dir, 'inflight-npy.txt'),
      read: async (bytes) => readNpyBytes(bytes, 'case.npy'),
    });
    report(stats);
    expect(stats.failures, stats.failures.join('\n\n')).toEqual([]);
  }, 300_000);

  it(`safetensors: ${FUZZ_CASES} mutated files (seed ${FUZZ_SEED})`, async () => {
    const bases = await ownExports(dir, '.safetensors', [{}, { safetensorsDtype: 'F16' }, { safetensorsDtype: 'BF16' }], 1);
    const stats = await fuzz({
      format: 'safetensors',
      seed: FUZZ_SEED,
      count: FUZZ_CASES,
      bases,
      inflight: join(dir, 'inflight-safetensors.txt'),
      read: async (bytes) => readSafetensorsBytes(bytes, 'case.safetensors'),
    });
    report(stats);
    expect(stats.failures, stats.failures.join('\n\n')).toEqual([]);
  }, 300_000);

  it(`onnx: ${FUZZ_CASES} mutated files (seed ${FUZZ_SEED})${REAL_BASES_NOTE}`, async () => {
    const bases = [
      ...(await realBases([['onnx-pytorch-embedding/model.onnx', 2]])),
      ...(await ownExports(dir, '.onnx', [{}, { onnxIndexType: 'int64' }], 1)),
    ];
    const stats = await fuzz({
      format: 'onnx',
      seed: FUZZ_SEED,
      count: FUZZ_CASES,
      bases,
      inflight: join(dir, 'inflight-onnx.txt'),
      read: (bytes) => readOnnxBytes(bytes, join(dir, 'case.onnx')),
    });
    report(stats);
    expect(stats.failures, stats.failures.join('\n\n')).toEqual([]);
  }, 300_000);

  it(`tfjs: ${FUZZ_CASES} mutated model.json / shard files (seed ${FUZZ_SEED})${REAL_BASES_NOTE}`, async () => {
    // Bases: model.json files (JSON-aware and byte mutations) and their shards (byte mutations,
    // written over the shard for one case, then restored). The shards live beside case.json.
    const tdir = join(dir, 'tfjs');
    mkdirSync(tdir, { recursive: true });
    const own = await ownExports(
      tdir,
      '.json',
      [{}, { quantize: 'uint8' }, { quantize: 'float16' }, { shardBytes: 40 }, { quantize: 'uint16', shardBytes: 24 }],
      1,
    );
    const real = await realBases([['harshaky-tfjs-sentiment/model.json', 0.4, true]]);
    if (real.length > 0) copyFileSync(join(REAL_DIR, 'harshaky-tfjs-sentiment/group1-shard1of1.bin'), join(tdir, 'group1-shard1of1.bin'));
    const bases: FuzzBase[] = [...own, ...real];
    const shards = readdirSync(tdir).filter((f) => f.endsWith('.bin') && f !== 'group1-shard1of1.bin');
    for (const shard of shards) bases.push({ label: `shard ${shard}`, bytes: readFileSync(join(tdir, shard)), weight: 0.25, extra: shard });
    if (real.length > 0)
      bases.push({
        label: 'real shard group1-shard1of1.bin',
        bytes: readFileSync(join(tdir, 'group1-shard1of1.bin')),
        weight: 0.04,
        extra: 'group1-shard1of1.bin',
      });
    const modelFor: Record<string, Uint8Array> = {};
    for (const shard of [...shards, ...(real.length > 0 ? ['group1-shard1of1.bin'] : [])]) {
      const owner = bases.find((b) => !b.extra && new TextDecoder().decode(b.bytes).includes(`"${shard}"`));
      modelFor[shard] = owner!.bytes;
    }
    const file = join(tdir, 'case.json');
    const stats = await fuzz({
      format: 'tfjs',
      seed: FUZZ_SEED,
      count: FUZZ_CASES,
      bases,
      inflight: join(dir, 'inflight-tfjs.txt'),
      read: async (bytes, base) => {
        if (!base.extra) {
          await put(file, bytes);
          return readTfjs(file);
        }
        await put(file, modelFor[base.extra]!);
        await put(join(tdir, base.extra), bytes);
        try {
          return await readTfjs(file);
        } finally {
          await put(join(tdir, base.extra), base.bytes);
        }
      },
    });
    report(stats);
    expect(stats.failures, stats.failures.join('\n\n')).toEqual([]);
  }, 300_000);
});
