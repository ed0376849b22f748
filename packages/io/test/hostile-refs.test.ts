import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEmbeddings, saveEmbedding } from '../src/index.js';
import { createH5Bytes } from '../src/util/h5.js';
import { smallLayer } from './fuzz/bases.js';
import { expectRefused, printRefusalTimes, treeSnapshot } from './hostile-helpers.js';
import { makeTempDir } from './tmp.js';

/*
 * Hostile references (issue: "sizes are checked per entry, not in total", "symlinks escape the
 * model directory", "deep nesting"). Every file is made here; a secret file sits outside the
 * model's folder and its bytes must never come back.
 */

const { onnx } = onnxProto;
const SECRET_VALUE = 1234.5;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let secret: string;
beforeAll(async () => {
  tmp = await makeTempDir('io-hostile-refs-');
  secret = join(tmp.dir, 'secret.bin');
  await writeFile(secret, new Uint8Array(new Float32Array(1 << 18).fill(SECRET_VALUE).buffer));
});
afterAll(async () => {
  printRefusalTimes('hostile references');
  await tmp.cleanup();
});

let n = 0;
async function folder(): Promise<string> {
  const dir = join(tmp.dir, `case-${++n}`, 'model');
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A TF.js model.json for one Embedding of [rows, cols] float32 whose one weight group lists `paths`. */
function modelJson(rows: number, cols: number, paths: string[]): string {
  return JSON.stringify({
    format: 'layers-model',
    modelTopology: {
      model_config: {
        class_name: 'Sequential',
        config: { layers: [{ class_name: 'Embedding', config: { name: 'emb', input_dim: rows, output_dim: cols } }] },
      },
    },
    weightsManifest: [{ paths, weights: [{ name: 'emb/embeddings', shape: [rows, cols], dtype: 'float32' }] }],
  });
}

describe('one byte budget per load: the same bytes cannot be used twice', () => {
  it('a model.json listing one 1 MiB shard 2,048 times is refused before anything is allocated', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'shard.bin'), new Uint8Array(1 << 20));
    const path = join(dir, 'model.json');
    await writeFile(path, modelJson(2048 * 1024, 256, Array(2048).fill('shard.bin')));
    await expectRefused('tfjs repeated shard', path, /shard "shard\.bin" is already listed in this group/, () => readEmbeddings(path));
  });

  it('two shard names for one file (a symlink inside the folder) cannot be read as two shards', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'a.bin'), new Uint8Array(new Float32Array(8).fill(1).buffer));
    await symlink('a.bin', join(dir, 'b.bin'));
    const path = join(dir, 'model.json');
    await writeFile(path, modelJson(4, 4, ['a.bin', 'b.bin']));
    await expectRefused('tfjs aliased shard', path, /overlaps .*the same bytes may not be used twice/, () => readEmbeddings(path));
  });

  it('safetensors tensors with overlapping data_offsets are refused (the format forbids it)', async () => {
    const dir = await folder();
    const header: Record<string, unknown> = {};
    for (let i = 0; i < 64; i++) header[`t${i}.weight`] = { dtype: 'F32', shape: [1024, 256], data_offsets: [0, 1 << 20] };
    const text = new TextEncoder().encode(JSON.stringify(header));
    const bytes = new Uint8Array(8 + text.length + (1 << 20));
    new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
    bytes.set(text, 8);
    const path = join(dir, 'm.safetensors');
    await writeFile(path, bytes);
    await expectRefused('safetensors overlap', path, /tensor "t1\.weight" \(bytes 0-1048576 of "data"\) overlaps tensor "t0\.weight"/, () =>
      readEmbeddings(path),
    );
  });

  it('2,048 ONNX initializers on one external data range are refused at the second', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'w.data'), new Uint8Array(1 << 20));
    const count = 2048;
    const model = onnx.ModelProto.create({
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: Array.from({ length: count }, (_, i) => ({ opType: 'Gather', input: [`w${i}`, 'ids'], output: [`y${i}`] })),
        initializer: Array.from({ length: count }, (_, i) => ({
          name: `w${i}`,
          dataType: 1,
          dims: [1024, 256],
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: 'w.data' },
            { key: 'offset', value: '0' },
            { key: 'length', value: String(1 << 20) },
          ],
        })),
        input: [{ name: 'ids' }],
        output: [{ name: 'y0' }],
      },
    });
    const path = join(dir, 'm.onnx');
    await writeFile(path, onnx.ModelProto.encode(model).finish());
    await expectRefused('onnx shared external range', path, /initializer "w1" .* overlaps initializer "w0"/, () => readEmbeddings(path));
  });

  it('a Keras .h5 whose model_config lists one 64 MiB gzip dataset 64 times is refused at the second read', async () => {
    const dir = await folder();
    const layer = { class_name: 'Embedding', config: { name: 'emb', input_dim: 65536, output_dim: 256 } };
    const config = JSON.stringify({ class_name: 'Sequential', config: { name: 's', layers: Array(64).fill(layer) } });
    const bytes = await createH5Bytes((file) => {
      file.create_attribute('keras_version', '2.15.0');
      file.create_attribute('model_config', config);
      const group = file.create_group('model_weights').create_group('emb');
      group.create_group('emb').create_dataset({
        name: 'embeddings:0',
        data: new Float32Array(65536 * 256),
        shape: [65536, 256],
        dtype: '<f',
        chunks: [4096, 256],
        compression: 'gzip',
        compression_opts: 9,
      });
    });
    expect(bytes.length).toBeLessThan(2 << 20);
    const path = join(dir, 'm.h5');
    await writeFile(path, bytes);
    await expectRefused('h5 repeated dataset', path, /more than once|more than one layer/, () => readEmbeddings(path));
  });
});

describe('references stay inside the model folder, and only regular files are read', () => {
  async function tfjsPointingAt(target: (dir: string) => Promise<string>): Promise<{ dir: string; path: string }> {
    const dir = await folder();
    const shard = await target(dir);
    const path = join(dir, 'model.json');
    await writeFile(path, modelJson(4, 4, [shard]));
    return { dir, path };
  }

  const cases: { name: string; target: (dir: string) => Promise<string>; reason: RegExp }[] = [
    {
      name: 'a shard that is a symlink to a file outside the folder',
      target: async (dir) => {
        await symlink(secret, join(dir, 'shard.bin'));
        return 'shard.bin';
      },
      reason: /weight shard "shard\.bin" resolves to .*secret\.bin", outside the model's folder/,
    },
    {
      name: 'a shard under a symlinked folder',
      target: async (dir) => {
        await symlink(tmp.dir, join(dir, 'sub'));
        return 'sub/secret.bin';
      },
      reason: /weight shard "sub\/secret\.bin" resolves to .*, outside the model's folder/,
    },
    {
      name: 'a shard that is a symlink to /dev/zero',
      target: async (dir) => {
        await symlink('/dev/zero', join(dir, 'zero.bin'));
        return 'zero.bin';
      },
      reason: /resolves to "\/dev\/zero", outside the model's folder/,
    },
    {
      name: 'a shard that is a folder',
      target: async (dir) => {
        await mkdir(join(dir, 'shard.bin'));
        return 'shard.bin';
      },
      reason: /a directory, not a regular file/,
    },
    {
      name: 'a shard that is a FIFO (opening it must not block)',
      target: async (dir) => {
        execFileSync('mkfifo', [join(dir, 'fifo.bin')]);
        return 'fifo.bin';
      },
      reason: /a FIFO, not a regular file/,
    },
  ];
  for (const c of cases) {
    it(`TF.js: ${c.name} is refused`, async () => {
      const { dir, path } = await tfjsPointingAt(c.target);
      const before = await treeSnapshot(dir);
      await expectRefused(c.name, path, c.reason, () => readEmbeddings(path));
      expect(await treeSnapshot(dir)).toEqual(before);
    });
  }

  it('ONNX: external data whose location is a symlink to a file outside the folder is refused', async () => {
    const dir = await folder();
    const path = join(dir, 'm.onnx');
    await saveEmbedding(path, smallLayer(4, 4), { onnxExternalData: true });
    const data = `${path}.data`;
    await import('node:fs/promises').then((fs) => fs.rm(data));
    await symlink(secret, data);
    await expectRefused(
      'onnx symlink',
      path,
      /external data location "m\.onnx\.data" resolves to .*secret\.bin", outside the model's folder/,
      () => readEmbeddings(path),
    );
  });

  it('a model file that is a character device (/dev/zero) or a folder is refused, not read forever', async () => {
    await expectRefused('/dev/zero as model.json', '/dev/zero', /a character device, not a regular file/, () =>
      readEmbeddings('/dev/zero', { format: 'tfjs' }),
    );
    const dir = await folder();
    await expectRefused('folder as .npy', dir, /a directory, not a regular file/, () => readEmbeddings(dir, { format: 'npy' }));
  });

  it('a shard that is a regular file inside the folder, reached through a symlink inside the folder, loads', async () => {
    const dir = await folder();
    await mkdir(join(dir, 'real'));
    await writeFile(join(dir, 'real', 'a.bin'), new Uint8Array(new Float32Array(16).fill(0.5).buffer));
    await symlink('real', join(dir, 'alias'));
    const path = join(dir, 'model.json');
    await writeFile(path, modelJson(4, 4, ['alias/a.bin']));
    const [record] = await readEmbeddings(path);
    expect(Array.from(record!.weights)).toEqual(Array(16).fill(0.5));
  });
});

describe('deep nesting is a BadFileError, not a stack overflow', () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  it('model.json', async () => {
    const dir = await folder();
    const path = join(dir, 'model.json');
    await writeFile(path, `{"modelTopology": ${deep}, "weightsManifest": []}`);
    await expectRefused('deep model.json', path, /nests arrays\/objects more than 256 deep/, () => readEmbeddings(path));
  });
  it('a safetensors header', async () => {
    const dir = await folder();
    const text = new TextEncoder().encode(`{"a": ${deep}}`);
    const bytes = new Uint8Array(8 + text.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
    bytes.set(text, 8);
    const path = join(dir, 'm.safetensors');
    await writeFile(path, bytes);
    await expectRefused('deep safetensors', path, /the header nests arrays\/objects more than 256 deep/, () => readEmbeddings(path));
  });
  it('a .keras config.json', async () => {
    const dir = await folder();
    const good = join(dir, 'good.keras');
    await saveEmbedding(good, smallLayer(4, 4));
    const { unzipSync } = await import('fflate');
    const members = unzipSync(new Uint8Array(await readFile(good)));
    const path = join(dir, 'm.keras');
    await writeFile(path, zipSync({ ...members, 'config.json': strToU8(`{"config": ${deep}}`) }, { level: 0 }));
    await expectRefused('deep config.json', path, /config\.json nests arrays\/objects more than 256 deep/, () => readEmbeddings(path));
  });
  it('an HDF5 model_config attribute', async () => {
    const dir = await folder();
    const path = join(dir, 'm.h5');
    await writeFile(
      path,
      await createH5Bytes((file) => {
        file.create_attribute('keras_version', '2.15.0');
        file.create_attribute('model_config', `{"config": ${deep}}`);
        file.create_group('model_weights');
      }),
    );
    await expectRefused('deep model_config', path, /the model_config attribute nests arrays\/objects more than 256 deep/, () =>
      readEmbeddings(path),
    );
  });
});
