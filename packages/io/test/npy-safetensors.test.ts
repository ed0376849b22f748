import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsBackend } from '@embedding-layer/adapter-js';
import { BadFileError, resolveConfig } from '@embedding-layer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy, decodeSafetensors, encodeNpy, encodeSafetensors } from '../src/formats.js';
import { loadEmbedding, readEmbedding, readEmbeddings, saveEmbedding } from '../src/index.js';
import { sameBits } from './real-fixtures.js';
import { makeTempDir } from './tmp.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(() => tmp.cleanup());

/** A .npy file built by hand, byte by byte, as numpy.save lays it out. */
function handNpy(descr: string, fortran: boolean, shape: number[], body: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

const M = new Float32Array([0.5, -1.25, 3, 1e-3, -7.5, 65504]); // 2 x 3, row-major

describe('.npy', () => {
  it('decodes float32 C order', () => {
    const npy = decodeNpy(handNpy('<f4', false, [2, 3], new Uint8Array(M.buffer.slice(0))));
    expect(npy.shape).toEqual([2, 3]);
    expect(sameBits(npy.data, M)).toBe(true);
  });

  it('decodes Fortran order (column-major) into row-major', () => {
    const colMajor = new Float32Array([0.5, 1e-3, -1.25, -7.5, 3, 65504]);
    const npy = decodeNpy(handNpy('<f4', true, [2, 3], new Uint8Array(colMajor.buffer)));
    expect(npy.fortranOrder).toBe(true);
    expect(sameBits(npy.data, M)).toBe(true);
  });

  it('decodes float16 (bit patterns) and float64, and big-endian float32', () => {
    // binary16: 0x3c00 = 1, 0xc000 = -2, 0x7bff = 65504, 0x0001 = 2^-24, 0x3555 = 0.333251953125, 0x8000 = -0
    const half = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000]);
    const h = decodeNpy(handNpy('<f2', false, [3, 2], new Uint8Array(half.buffer)));
    expect(h.dtype).toBe('float16');
    expect(Array.from(h.data)).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125, -0]);
    const d = decodeNpy(handNpy('<f8', false, [1, 2], new Uint8Array(new Float64Array([0.1, -2.5]).buffer)));
    expect(Array.from(d.data)).toEqual([Math.fround(0.1), -2.5]);
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -0.25, false);
    expect(Array.from(decodeNpy(handNpy('>f4', false, [1, 2], be)).data)).toEqual([1.5, -0.25]);
  });

  it('encodes as numpy.save does (64-byte aligned header) and round-trips float32, float16, float64', () => {
    const bytes = encodeNpy(M, 2, 3);
    expect(new TextDecoder('latin1').decode(bytes.subarray(10, 10 + 60))).toContain(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
    );
    const headerLen = bytes[8]! | (bytes[9]! << 8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(bytes[10 + headerLen - 1]).toBe(0x0a);
    expect(sameBits(decodeNpy(bytes).data, M)).toBe(true);
    expect(Array.from(decodeNpy(encodeNpy(M, 2, 3, 'float16')).data)).toEqual([0.5, -1.25, 3, 0.0010004043579101562, -7.5, 65504]);
    expect(sameBits(decodeNpy(encodeNpy(M, 2, 3, 'float64')).data, M)).toBe(true);
  });

  it('writes and reads a file, loads it into a layer, keeps the caller config', async () => {
    const path = join(tmp.dir, 'm.npy');
    await saveEmbedding(path, { config: { inputDim: 2, outputDim: 3, name: 'emb' }, weights: M });
    const layer = await loadEmbedding(path, { backend: createJsBackend(), config: { maskZero: true }, name: 'emb' });
    expect(layer.config.maskZero).toBe(true);
    expect(layer.config.name).toBe('emb');
    const out = await layer.predict([[1]]);
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(M.subarray(3, 6)));
  });

  it('rejects bad files with BadFileError naming the file', () => {
    const good = encodeNpy(M, 2, 3);
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 4), /truncated/],
      [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), /magic/],
      [handNpy('<i4', false, [2, 3], new Uint8Array(24)), /float dtype/],
      [handNpy('<f4', false, [6], new Uint8Array(24)), /2-D/],
    ];
    for (const [bytes, message] of cases) {
      let error: unknown;
      try {
        decodeNpy(bytes, 'bad.npy');
      } catch (e) {
        error = e;
      }
      expect(BadFileError.isInstance(error)).toBe(true);
      expect((error as BadFileError).code).toBe('BAD_FILE');
      expect((error as Error).message).toMatch(/^bad\.npy: /);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('rejects a caller config whose dims do not match the matrix', async () => {
    const path = join(tmp.dir, 'dims.npy');
    await writeFile(path, encodeNpy(M, 2, 3));
    await expect(readEmbeddings(path, { config: { inputDim: 3, outputDim: 2 } })).rejects.toMatchObject({ code: 'BAD_FILE' });
  });
});

describe('safetensors', () => {
  it('decodes F32, F16 and BF16 tensors (bit patterns) and skips non-matrix tensors', async () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x3555]);
    const bf16 = new Uint16Array([0x3f80, 0xc049, 0x0000, 0x4049]); // 1, -3.140625, 0, 3.140625
    const header = {
      __metadata__: { format: 'pt' },
      'a.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      'h.weight': { dtype: 'F16', shape: [2, 2], data_offsets: [24, 32] },
      'b.weight': { dtype: 'BF16', shape: [1, 4], data_offsets: [32, 40] },
      step: { dtype: 'I64', shape: [], data_offsets: [40, 48] },
    };
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const body = new Uint8Array(48);
    body.set(new Uint8Array(M.buffer.slice(0)), 0);
    body.set(new Uint8Array(f16.buffer), 24);
    body.set(new Uint8Array(bf16.buffer), 32);
    const file = new Uint8Array(8 + json.length + 48);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(new TextEncoder().encode(json), 8);
    file.set(body, 8 + json.length);
    const path = join(tmp.dir, 'hand.safetensors');
    await writeFile(path, file);
    const records = await readEmbeddings(path);
    expect(records.map((r) => [r.name, r.storedDtype, r.inputDim, r.outputDim])).toEqual([
      ['a', 'float32', 2, 3],
      ['h', 'float16', 2, 2],
      ['b', 'bfloat16', 1, 4],
    ]);
    expect(sameBits(records[0]!.weights, M)).toBe(true);
    expect(Array.from(records[1]!.weights)).toEqual([1, -2, 65504, 0.333251953125]);
    expect(Array.from(records[2]!.weights)).toEqual([1, -3.140625, 0, 3.140625]);
    await expect(readEmbedding(path)).rejects.toThrow(/3 Embedding layers/);
    expect((await readEmbedding(path, { layer: 'h' })).storedBytes).toBe(8);
  });

  it('round-trips F32 bit-exactly with the full config in the metadata', async () => {
    const path = join(tmp.dir, 'rt.safetensors');
    const weights = Float32Array.from({ length: 12 }, (_, i) => Math.fround(Math.sin(i) * 1e-3));
    weights[5] = Number.NaN;
    const config = { inputDim: 4, outputDim: 3, name: 'tok', maskZero: true, inputLength: 7, embeddingsConstraint: 'non_neg' as const };
    await saveEmbedding(path, { config, weights });
    const decoded = decodeSafetensors(new Uint8Array(await (await import('node:fs/promises')).readFile(path)));
    expect(decoded.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([['tok.weight', 'F32', [4, 3]]]);
    const record = await readEmbedding(path);
    expect(sameBits(record.weights, weights)).toBe(true);
    expect(resolveConfig(record.config)).toEqual(resolveConfig(config));
  });

  it('writes F16 and BF16 with round-to-nearest-even', () => {
    const v = new Float32Array([1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 1 + 2 ** -8]);
    const h = decodeSafetensors(encodeSafetensors([{ name: 'x', data: v, shape: [1, 5], dtype: 'F16' }])).tensors[0]!;
    expect(Array.from(new Uint16Array(h.bytes.slice().buffer))).toEqual([0x3c00, 0x3c00, 0x3c02, 0x7c00, 0x3c04]);
    const b = decodeSafetensors(encodeSafetensors([{ name: 'x', data: v, shape: [1, 5], dtype: 'BF16' }])).tensors[0]!;
    expect(Array.from(new Uint16Array(b.bytes.slice().buffer))).toEqual([0x3f80, 0x3f80, 0x3f80, 0x4780, 0x3f80]);
  });

  it('rejects truncated and malformed files', async () => {
    const good = encodeSafetensors([{ name: 'x', data: M, shape: [2, 3] }]);
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 1), /truncated/],
      [good.subarray(0, 5), /truncated/],
      [new TextEncoder().encode('not a safetensors file at all'), /header size|not a safetensors/],
    ];
    for (const [bytes, message] of cases) expect(() => decodeSafetensors(bytes, 'x.safetensors')).toThrow(message);
    const path = join(tmp.dir, 'int.safetensors');
    await writeFile(
      path,
      (() => {
        const json = JSON.stringify({ ids: { dtype: 'I32', shape: [2, 2], data_offsets: [0, 16] } });
        const out = new Uint8Array(8 + json.length + 16);
        new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
        out.set(new TextEncoder().encode(json), 8);
        return out;
      })(),
    );
    await expect(readEmbeddings(path)).rejects.toThrow(/no Embedding matrix/);
  });
});
