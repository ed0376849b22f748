import { spawnSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertEmbedding, loadEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { createH5Bytes } from '../src/util/h5.js';
import { h5WorkerLimits } from '../src/util/h5-worker.js';
import { smallLayer } from './fuzz/bases.js';
import { expectRefused, printRefusalTimes, treeSnapshot } from './hostile-helpers.js';
import { makeTempDir } from './tmp.js';

/*
 * Hostile HDF5 files (issue: "HDF5 external storage reads host files"). The files that need
 * h5py (external storage, external links, virtual datasets) are made by
 * fixtures/hostile/make_hostile_h5.py and checked in; each test copies one into a fresh folder
 * beside a secret file it names, and checks the reader refuses it without reading the secret.
 */

const HOSTILE = fileURLToPath(new URL('./fixtures/hostile/', import.meta.url));
/** The secret's float32 values: if a reader ever returned them, a row would hold 1234.5. */
const SECRET = new Float32Array([1234.5, 1234.5, 1234.5, 1234.5, 1234.5, 1234.5, 1234.5, 1234.5]);

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('io-hostile-h5-');
});
afterAll(async () => {
  printRefusalTimes('hostile HDF5 files');
  await tmp.cleanup();
});

let n = 0;
/** A fresh folder holding a copy of `fixture`, a secret.bin and a secret.h5 (dataset /data) beside it. */
async function folderWith(fixture: string): Promise<{ dir: string; path: string }> {
  const dir = join(tmp.dir, `case-${++n}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(dir));
  const path = join(dir, fixture);
  await copyFile(join(HOSTILE, fixture), path);
  await writeFile(join(dir, 'secret.bin'), new Uint8Array(SECRET.buffer));
  await writeFile(
    join(dir, 'secret.h5'),
    await createH5Bytes((file) => {
      file.create_dataset({ name: 'data', data: SECRET, shape: [4, 2], dtype: '<f' });
    }),
  );
  return { dir, path };
}

describe('HDF5 never sees the host filesystem', () => {
  const cases = [
    { fixture: 'external-storage.h5', reason: /asks HDF5 for another file \(.*secret\.bin.*\): external storage/ },
    { fixture: 'external-storage-abs.h5', reason: /asks HDF5 for another file \("\/etc\/passwd"\)/ },
    { fixture: 'external-link.h5', reason: /asks HDF5 for another file \(.*secret\.h5.*\): external storage, external links/ },
    { fixture: 'virtual-dataset.h5', reason: /virtual dataset .*secret\.h5.*; virtual datasets are refused/ },
  ];
  for (const c of cases) {
    it(`${c.fixture}: refused by loadEmbedding, readEmbeddings and convert, the secret never read, nothing written`, async () => {
      const { dir, path } = await folderWith(c.fixture);
      const before = await treeSnapshot(dir);
      await expectRefused(`${c.fixture} load`, path, c.reason, () => loadEmbedding(path, { backend: createJsBackend() }));
      await expectRefused(`${c.fixture} read`, path, c.reason, () => readEmbeddings(path));
      const out = join(dir, 'out.safetensors');
      await expectRefused(`${c.fixture} convert`, path, c.reason, () => convertEmbedding(path, out));
      expect(await treeSnapshot(dir)).toEqual(before);
    });
  }

  it('a .keras whose model.weights.h5 keeps vars/0 in external storage is refused the same way', async () => {
    const { dir } = await folderWith('keras3-external-storage.weights.h5');
    const weights = new Uint8Array(await readFile(join(HOSTILE, 'keras3-external-storage.weights.h5')));
    const config = {
      class_name: 'Sequential',
      config: { name: 'sequential', layers: [{ class_name: 'Embedding', config: { name: 'embedding', input_dim: 4, output_dim: 2 } }] },
    };
    const path = join(dir, 'm.keras');
    await writeFile(
      path,
      zipSync(
        {
          'metadata.json': strToU8(JSON.stringify({ keras_version: '3.10.0' })),
          'config.json': strToU8(JSON.stringify(config)),
          'model.weights.h5': weights,
        },
        { level: 0 },
      ),
    );
    const before = await treeSnapshot(dir);
    await expectRefused('.keras external storage', `${path} (model.weights.h5)`, /asks HDF5 for another file \(.*secret\.bin.*\)/, () =>
      readEmbeddings(path),
    );
    expect(await treeSnapshot(dir)).toEqual(before);
  });

  it('the same layout with the data inside the file loads (the refusal is about where the data lives, not the layout)', async () => {
    const dir = join(tmp.dir, 'good');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    const path = join(dir, 'm.h5');
    await saveEmbedding(path, smallLayer(4, 2));
    const [record] = await readEmbeddings(path);
    expect(Array.from(record!.weights)).toEqual(Array.from(smallLayer(4, 2).weights));
  });
});

describe('the HDF5 worker', () => {
  it('a damaged file prints nothing (no HDF5-DIAG on stderr or stdout)', async () => {
    const dir = join(tmp.dir, 'quiet');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    const good = join(dir, 'good.h5');
    await saveEmbedding(good, smallLayer(6, 4));
    const bytes = await readFile(good);
    // Keep the superblock, zero the object headers: HDF5 opens it and fails deep in its stack.
    const damaged = Buffer.from(bytes);
    damaged.fill(0xff, 200, damaged.length - 100);
    const path = join(dir, 'damaged.h5');
    await writeFile(path, damaged);
    // The HDF5 worker's output reaches the parent's process.stderr / stdout when it is not contained.
    const written: string[] = [];
    const streams = [process.stderr, process.stdout] as const;
    const originals = streams.map((s) => s.write);
    for (const s of streams)
      s.write = ((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        done?.();
        return true;
      }) as typeof s.write;
    let error: unknown;
    try {
      await readEmbeddings(path).catch((e: unknown) => {
        error = e;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      streams.forEach((s, i) => {
        s.write = originals[i]!;
      });
    }
    expect((error as { code?: string })?.code).toBe('BAD_FILE');
    expect(written.join('')).toBe('');
  });

  it('a process that has read an HDF5 file exits on its own (the idle worker keeps nothing alive)', async () => {
    const dir = join(tmp.dir, 'exit');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    const path = join(dir, 'm.h5');
    await saveEmbedding(path, smallLayer(6, 4));
    // The built package, as users run it (npm test builds before it tests).
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `const io = await import(${JSON.stringify(dist)}); const r = await io.inspectModel(${JSON.stringify(path)}); console.log(r.length);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.signal, 'killed by the timeout: the process did not exit').toBeNull();
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('1');
    expect(child.stderr).toBe('');
  });

  it('the time limit counts the worker thread CPU time: a file that loops HDF5 fails at the limit; good files load while every core is busy', async () => {
    const saved = { ...h5WorkerLimits };
    const loop = fileURLToPath(new URL('./fixtures/fuzz-found/keras-h5-hdf5-loop.h5', import.meta.url));
    const dir = join(tmp.dir, 'busy');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    const good = join(dir, 'good.h5');
    await saveEmbedding(good, smallLayer(200, 16));
    // Two threads spinning, one per core: wall time stretches, the worker's CPU time does not.
    const hogs = Array.from({ length: 2 }, () => new Worker('const end = Date.now() + 30000; while (Date.now() < end) {}', { eval: true }));
    try {
      h5WorkerLimits.cpuMs = 1500;
      h5WorkerLimits.cpuMsPerMiB = 0;
      for (let i = 0; i < 5; i++) {
        const [record] = await readEmbeddings(good);
        expect(Array.from(record!.weights)).toEqual(Array.from(smallLayer(200, 16).weights));
      }
      await expectRefused('HDF5 loop', loop, /HDF5 (scan|open) did not finish within 1\.5 s of CPU time/, () => readEmbeddings(loop));
      const [again] = await readEmbeddings(good);
      expect(again!.inputDim).toBe(200);
    } finally {
      Object.assign(h5WorkerLimits, saved);
      await Promise.all(hogs.map((h) => h.terminate()));
    }
  }, 60_000);
});
