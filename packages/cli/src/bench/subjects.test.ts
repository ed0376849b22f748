import { describe, expect, it } from 'vitest';
import { copyPair } from './subjects.js';

describe('copy limit buffers', () => {
  it('puts source and destination in one buffer, apart, the destination half a page after the source modulo 4 KiB', () => {
    for (const length of [1, 20_480, 2_097_152, 1023, 1024, 1025]) {
      const { src, dst } = copyPair(length);
      expect(src.buffer).toBe(dst.buffer);
      expect([src.length, dst.length]).toEqual([length, length]);
      expect(dst.byteOffset).toBeGreaterThanOrEqual(src.byteOffset + src.byteLength);
      expect((dst.byteOffset - src.byteOffset) % 4096).toBe(2048);
      // Both start on 8 bytes, for the Float64 views of the for-loop copy.
      expect(src.byteOffset % 8).toBe(0);
      expect(dst.byteOffset % 8).toBe(0);
    }
  });
});
