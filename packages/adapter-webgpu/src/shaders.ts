import type { WebGpuStorage } from './layout.js';

/** Threads per workgroup of every kernel. */
export const WORKGROUP = 64;

/**
 * Uniforms shared by the kernels, 48 bytes: `total` work items, `d` (output_dim), the split's
 * `first` row and row `count`, its `stride` (words per stored row), `threads` (the grid size,
 * for the grid-stride loop), two f32 arguments (an optimizer's learning rate and epsilon), and
 * `base`, where the split's output positions start in the gather's `order`.
 */
const PARAMS = /* wgsl */ `
struct Params {
  total: u32,
  d: u32,
  first: u32,
  count: u32,
  stride: u32,
  threads: u32,
  lr: f32,
  eps: f32,
  base: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
`;

/**
 * One stored value as float32 bits. float32 is copied as bits (NaN payloads and subnormals
 * kept, no float unit involved). float16 is decoded with integer operations (exact, subnormals
 * included; NaN becomes the canonical quiet NaN as core's decoding table gives it). int8 is
 * `f32(q) / scale`, Keras 3's dequantization, the row's scale in its first word.
 */
const DECODE: Record<WebGpuStorage, string> = {
  float32: /* wgsl */ `
fn value_bits(base: u32, c: u32) -> u32 {
  return table[base + c];
}`,
  float16: /* wgsl */ `
fn value_bits(base: u32, c: u32) -> u32 {
  let word = table[base + (c >> 1u)];
  let h = (word >> ((c & 1u) * 16u)) & 0xffffu;
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    if (m == 0u) { return sign; }
    let lead = firstLeadingBit(m);
    return sign | ((lead + 103u) << 23u) | (((m << (10u - lead)) & 0x3ffu) << 13u);
  }
  if (e == 0x1fu) {
    if (m == 0u) { return sign | 0x7f800000u; }
    return 0x7fc00000u;
  }
  return sign | ((e + 112u) << 23u) | (m << 13u);
}`,
  int8: /* wgsl */ `
fn value_bits(base: u32, c: u32) -> u32 {
  let scale = bitcast<f32>(table[base]);
  let word = table[base + 1u + (c >> 2u)];
  let q = (bitcast<i32>(word << ((3u - (c & 3u)) * 8u))) >> 24u;
  return bitcast<u32>(f32(q) / scale);
}`,
};

/**
 * The gather kernel for one split: for the `total / d` outputs whose rows lie in the split,
 * listed in `order[base...]` (the host groups the output positions by split, so that the
 * dispatches together do one work item per output value, however many splits there are),
 * `out[i, c] = table[ids[i] - first, c]`, decoded. `base` = 0xffffffff means `order` is the
 * identity (one split). Grid-stride loop.
 */
export function gatherShader(storage: WebGpuStorage): string {
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
${DECODE[storage]}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var e = gid.x; e < p.total; e = e + p.threads) {
    let j = e / p.d;
    let c = e - j * p.d;
    var i = j;
    if (p.base != 0xffffffffu) { i = order[p.base + j]; }
    let row = ids[i];
    if (row >= p.first && row - p.first < p.count) {
      out[i * p.d + c] = value_bits((row - p.first) * p.stride, c);
    }
  }
}`;
}

/**
 * The float32 training kernel for one split: `table[rows[k], c] += deltas[k, c]` for the
 * distinct rows in the split (core's sparse gradient has each row once, so no two work items
 * write the same word and no atomics are needed).
 */
export const SCATTER_ADD_SHADER = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> rows: array<u32>;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read_write> table: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var e = gid.x; e < p.total; e = e + p.threads) {
    let k = e / p.d;
    let c = e - k * p.d;
    let row = rows[k];
    if (row >= p.first && row - p.first < p.count) {
      let at = (row - p.first) * p.stride + c;
      table[at] = bitcast<u32>(bitcast<f32>(table[at]) + deltas[e]);
    }
  }
}`;

/**
 * Writes whole encoded rows to distinct rows of one split: `table[rows[k], w] = words[k, w]`
 * (float16 and int8 training: rows are re-encoded on the CPU with core's codec, then scattered
 * here). `d` holds the words per row.
 */
export const SCATTER_ROWS_SHADER = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> rows: array<u32>;
@group(0) @binding(2) var<storage, read> words: array<u32>;
@group(0) @binding(3) var<storage, read_write> table: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var e = gid.x; e < p.total; e = e + p.threads) {
    let k = e / p.d;
    let w = e - k * p.d;
    let row = rows[k];
    if (row >= p.first && row - p.first < p.count) {
      table[(row - p.first) * p.stride + w] = words[e];
    }
  }
}`;

/**
 * SGD without momentum on distinct rows of one float32 split, Keras's `w -= lr * g` (core's
 * `Sgd`), in f32: `table[rows[k], c] += -(lr * grads[k, c])`.
 */
export const SGD_SHADER = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> rows: array<u32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> table: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var e = gid.x; e < p.total; e = e + p.threads) {
    let k = e / p.d;
    let c = e - k * p.d;
    let row = rows[k];
    if (row >= p.first && row - p.first < p.count) {
      let at = (row - p.first) * p.stride + c;
      table[at] = bitcast<u32>(bitcast<f32>(table[at]) + -(p.lr * grads[e]));
    }
  }
}`;

/**
 * Adagrad on distinct rows of one float32 split, Keras 3's formula as core's `Adagrad` computes
 * it, in f32: `acc += g^2; w -= lr * g / sqrt(acc + epsilon)`, the accumulator beside the rows
 * (same layout as the split).
 */
export const ADAGRAD_SHADER = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> rows: array<u32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> table: array<u32>;
@group(0) @binding(4) var<storage, read_write> acc: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var e = gid.x; e < p.total; e = e + p.threads) {
    let k = e / p.d;
    let c = e - k * p.d;
    let row = rows[k];
    if (row >= p.first && row - p.first < p.count) {
      let at = (row - p.first) * p.stride + c;
      let g = grads[e];
      let a = acc[at] + g * g;
      acc[at] = a;
      table[at] = bitcast<u32>(bitcast<f32>(table[at]) + -(p.lr * g) / sqrt(a + p.eps));
    }
  }
}`;
