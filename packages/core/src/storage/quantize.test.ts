import { describe, expect, it } from 'vitest';
import { STORAGE } from './capabilities.js';
import { decodeHalf, decodeInt8, encodeHalf, encodeInt8, halfToFloatTable, INT8_EPSILON, toHalf } from './quantize.js';

/** Float32 values from big-endian hex bits. */
function fromBits(hex: readonly string[]): Float32Array {
  return new Float32Array(Uint32Array.from(hex, (h) => Number.parseInt(h, 16)).buffer);
}
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (b) => b.toString(16).padStart(8, '0'));

/**
 * Written by scripts/keras_int8_vectors.py: Keras 3's `abs_max_quantize(w, axis=-1)` (scale =
 * 127 / (max|row| + 1e-7), q = round-half-even(w * scale) clipped to [-127, 127]) and its
 * dequantization q / scale, in float32 with NumPy, on 16 rows of 4 (edge rows, then random rows
 * of scales 1e-3 ... 30).
 */
const KERAS = {
  weights: [
    '3f800000',
    'bf000000',
    '3e800000',
    '00000000',
    '42fe0000',
    '3f000000',
    '3fc00000',
    'c0200000',
    '00000000',
    '00000000',
    '00000000',
    '00000000',
    '322bcc77',
    'b300d959',
    '3109705f',
    '00000000',
    '3b8101f3',
    'bb00f990',
    '00000000',
    '3f000000',
    '477fe000',
    'bf800000',
    '3dcccccd',
    '40400000',
    'b95d72a6',
    'ba07b881',
    '391cdcd4',
    'baea9af9',
    '3c6905f6',
    'bc83c43b',
    'bd14b1f2',
    '3ba17187',
    'c26a2d47',
    'c098138d',
    'c1af8224',
    '4144a75e',
    '3ee287b9',
    'bf6d8869',
    'bf6ee418',
    'bfbc2a2e',
    'bd21519b',
    '3c82d507',
    '3d2f91a8',
    '3c3b6ec8',
    '3ae40f75',
    'bd31a736',
    '3c205ffd',
    'bd270da0',
    '3e756146',
    'be4f74a0',
    '3f5b2401',
    '3e4f5463',
    '3d8c2aef',
    'bca73463',
    '3d1ad14b',
    '3c3873a0',
    '3dadba31',
    'bdc8ea11',
    '3d330c50',
    'bd51a4d3',
    'c1d079a8',
    'bf0d075a',
    'c2354462',
    'c20f5987',
  ],
  q: [
    127, -63, 32, 0, 127, 0, 2, -2, 0, 0, 0, 0, 10, -29, 2, 0, 1, 0, 0, 127, 127, 0, 0, 0, -15, -37, 11, -127, 50, -56, -127, 17, -127, -10,
    -48, 27, 38, -80, -81, -127, -117, 47, 127, 34, 5, -127, 29, -119, 36, -30, 127, 30, 127, -38, 70, 21, 110, -127, 57, -66, -73, -2,
    -127, -100,
  ],
  scales: [
    '42fdfffe',
    '3f800000',
    '4e976553',
    '4e68eaa7',
    '437dfffc',
    '3afe1fc4',
    '478a92ec',
    '455aa5ee',
    '400ad5d2',
    '42acc8e4',
    '45392e2c',
    '45370203',
    '43145c80',
    '44e7f34c',
    '44a1d1f0',
    '40335c0f',
  ],
  dequantized: [
    '3f800001',
    'befdfbfa',
    '3e810205',
    '00000000',
    '42fe0000',
    '00000000',
    '40000000',
    'c0000000',
    '00000000',
    '00000000',
    '00000000',
    '00000000',
    '322fdb60',
    'b2fefe18',
    '310caf80',
    '00000000',
    '3b810206',
    '00000000',
    '00000000',
    '3f000002',
    '477fe000',
    '00000000',
    '00000000',
    '00000000',
    'b95dafcf',
    'ba08b4f3',
    '392291fe',
    'baea9e54',
    '3c6a2a89',
    'bc83220f',
    'bd14b20d',
    '3b9f3ba5',
    'c26a2d47',
    'c0938353',
    'c1b103fd',
    '4147247d',
    '3ee13481',
    'bf6d0ed8',
    'bf70056e',
    'bfbc2a2f',
    'bd21beb9',
    '3c81f2f1',
    '3d2f91c3',
    '3c3c02e5',
    '3adfd0c6',
    'bd31a751',
    '3c224429',
    'bd26767a',
    '3e787976',
    'be4f0fe2',
    '3f5b2403',
    '3e4f0fe2',
    '3d8c2afc',
    'bca7c291',
    '3d1a840c',
    '3c396b42',
    '3dae053c',
    'bdc8ea1d',
    '3d345935',
    'bd50d315',
    'c1d062c6',
    'bf36b1c6',
    'c2354462',
    'c20ebae3',
  ],
};

describe('int8: Keras 3 abs_max_quantize, bit for bit', () => {
  it("the epsilon is Keras's backend.epsilon() in float32", () => {
    expect(INT8_EPSILON).toBe(Math.fround(1e-7));
  });
  it('quantizes to the same int8 values and float32 scales as Keras', () => {
    const w = fromBits(KERAS.weights);
    const { values, scales } = encodeInt8(w, 16, 4);
    expect(Array.from(values)).toEqual(KERAS.q);
    expect(bitsOf(scales)).toEqual(KERAS.scales);
  });
  it('dequantizes to the same float32 values as Keras', () => {
    const { values, scales } = encodeInt8(fromBits(KERAS.weights), 16, 4);
    expect(bitsOf(decodeInt8(values, scales, 4))).toEqual(KERAS.dequantized);
  });
  it('stays within the documented bound of each row (STORAGE.int8), tightly', () => {
    const w = fromBits(KERAS.weights);
    const back = fromBits(KERAS.dequantized);
    const { relative, absolute } = STORAGE.int8.bound;
    let worst = 0;
    for (let r = 0; r < 16; r++) {
      let max = 0;
      for (let c = 0; c < 4; c++) max = Math.max(max, Math.abs(w[r * 4 + c]!));
      for (let c = 0; c < 4; c++) {
        const err = Math.abs(back[r * 4 + c]! - w[r * 4 + c]!);
        expect(err).toBeLessThanOrEqual(relative * max + absolute);
        if (max > 0) worst = Math.max(worst, err / max);
      }
    }
    expect(worst).toBeGreaterThan(relative * 0.5); // the bound is not vacuous
  });
  it('NaN is stored as 0 and ±Infinity as ±127, the finite values keeping their bound', () => {
    const { values, scales } = encodeInt8(new Float32Array([Number.NaN, 1, -2, Number.NEGATIVE_INFINITY]), 1, 4);
    expect(Array.from(values)).toEqual([0, 64, -127, -127]);
    expect(Array.from(decodeInt8(values, scales, 4)).map((x) => Math.round(x * 1000) / 1000)).toEqual([0, 1.008, -2, -2]);
  });
});

describe('float16', () => {
  it('round-trips every finite binary16 value', () => {
    const t = halfToFloatTable();
    const finite = Uint16Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00);
    expect(Array.from(encodeHalf(decodeHalf(finite)))).toEqual(Array.from(finite));
    expect(toHalf(t[0x3c00]!)).toBe(0x3c00);
  });
  it('stays within 2^-11 |w| + 2^-25 (STORAGE.float16)', () => {
    const { relative, absolute } = STORAGE.float16.bound;
    for (const w of [1e-8, 3e-6, 0.1, 0.3333, 1, 7.77, 1000.5, 65000]) {
      const back = decodeHalf(encodeHalf(new Float32Array([w, -w])));
      for (const v of back) expect(Math.abs(Math.abs(v) - w)).toBeLessThanOrEqual(relative * w + absolute);
    }
  });
});
