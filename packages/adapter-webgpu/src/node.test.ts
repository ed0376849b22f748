// What runs without a browser: the factory's errors where WebGPU is missing or options are bad,
// the split layout, and the row codec against core's own encoders. The GPU paths are tested in
// Chromium by test/webgpu.test.ts.
import { DisposedError, EmbeddingError } from '@embedding-layer/core';
import { encodeHalf, encodeInt8 } from '@embedding-layer/core/backend';
import { describe, expect, it } from 'vitest';
import { decodeRows, encodeRows } from './codec.js';
import { createWebGpuBackend, DEVICE_LOST, DeviceLostError } from './index.js';
import { tableLayout } from './layout.js';

describe('createWebGpuBackend outside a browser', () => {
  it('rejects with UNSUPPORTED_FEATURE when navigator.gpu is missing (Node)', async () => {
    const error = await createWebGpuBackend().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_FEATURE' });
    expect((error as Error).message).toMatch(/navigator\.gpu is undefined/);
  });

  it("turns an adapter's refused requestDevice into UNSUPPORTED_FEATURE quoting it", async () => {
    const adapter = {
      requestDevice: async () => {
        throw new Error('device limits exceeded');
      },
    } as unknown as GPUAdapter;
    const error = await createWebGpuBackend({ adapter }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_FEATURE' });
    expect((error as Error).message).toMatch(/requestDevice\(\) failed \(device limits exceeded\)/);
  });

  it('rejects bad options with INVALID_CONFIG naming the option', async () => {
    await expect(createWebGpuBackend({ storage: 'bfloat16' as 'int8' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createWebGpuBackend({ maxBindingBytes: 2 })).rejects.toThrow(/maxBindingBytes/);
    await expect(createWebGpuBackend({ device: {} as GPUDevice })).rejects.toThrow(/options\.device must be a GPUDevice/);
    await expect(createWebGpuBackend({ shards: 2 } as never)).rejects.toThrow(/unknown option "shards"/);
  });
});

describe('DeviceLostError', () => {
  it('is an EmbeddingError with code DEVICE_LOST, recognised by isInstance and not by other codes', () => {
    const error = new DeviceLostError('lookup', 'destroyed', 'Device was destroyed.');
    expect(error.code).toBe(DEVICE_LOST);
    expect(EmbeddingError.isInstance(error)).toBe(true);
    expect(DeviceLostError.isInstance(error)).toBe(true);
    expect(DeviceLostError.isInstance(new DisposedError('lookup'))).toBe(false);
    expect(error.message).toMatch(/lost \(reason "destroyed": Device was destroyed\.\) before or during the lookup/);
  });
});

describe('tableLayout', () => {
  it('splits a 300,000 x 128 float32 table at 128 MiB into 262,144 + 37,856 rows', () => {
    const layout = tableLayout(300_000, 128, 'float32', 2 ** 27, 2 ** 27)!;
    expect(layout).toMatchObject({ rowWords: 128, rowsPerSplit: 262_144, splits: 2 });
  });

  it('pads float16 and int8 rows to whole words (int8: a scale word first) and keeps at least one row a split', () => {
    expect(tableLayout(10, 5, 'float16', 64, 2 ** 27)).toMatchObject({ rowWords: 3, rowsPerSplit: 5, splits: 2 });
    expect(tableLayout(10, 5, 'int8', 4, 2 ** 27)).toMatchObject({ rowWords: 3, rowsPerSplit: 1, splits: 10 });
    expect(tableLayout(1, 2 ** 16, 'float32', 4, 2 ** 27)).toMatchObject({ rowsPerSplit: 1, splits: 1 });
  });

  it('is null when one row passes the device limit', () => {
    expect(tableLayout(2, 2 ** 26, 'float32', 2 ** 27, 2 ** 27)).toBeNull();
  });
});

describe('row codec', () => {
  const d = 7;
  const rows = 3;
  const values = Float32Array.from({ length: rows * d }, (_, i) => (i % 2 ? -1 : 1) * 1.37 ** (i - 9));

  it("stores float16 rows as core's encodeHalf bits, two a word, each row padded to a word", () => {
    const layout = tableLayout(rows, d, 'float16', 2 ** 20, 2 ** 20)!;
    const halves = new Uint16Array(encodeRows(layout, values).buffer);
    const expected = encodeHalf(values);
    for (let r = 0; r < rows; r++) expect([...halves.subarray(r * 8, r * 8 + d)]).toEqual([...expected.subarray(r * d, r * d + d)]);
  });

  it("stores int8 rows as core's encodeInt8 (values and the float32 scale) and decodes them as q / scale", () => {
    const layout = tableLayout(rows, d, 'int8', 2 ** 20, 2 ** 20)!;
    const words = encodeRows(layout, values);
    const { values: q, scales } = encodeInt8(values, rows, d);
    const bytes = new Int8Array(words.buffer);
    const f32 = new Float32Array(words.buffer);
    for (let r = 0; r < rows; r++) {
      expect(f32[r * layout.rowWords]).toBe(scales[r]);
      expect([...bytes.subarray(r * layout.rowWords * 4 + 4, r * layout.rowWords * 4 + 4 + d)]).toEqual([...q.subarray(r * d, r * d + d)]);
    }
    const decoded = decodeRows(layout, words, rows);
    for (let i = 0; i < values.length; i++) expect(decoded[i]).toBe(Math.fround(q[i]! / scales[Math.floor(i / d)]!));
  });
});
