import { createWasmRows, type WasmRows } from '@embedding-layer/core/backend';
import type * as tfjs from '@tensorflow/tfjs';
import type { TfjsRuntime } from './runtime.js';

/**
 * Name of this package's row-gather kernel, registered with `tf.registerKernel` on TF.js's
 * `cpu` and `wasm` backends (inputs `x`: a float32 (rows, width) table, `indices`: int32 of any
 * shape; output float32 `[...indices.shape, width]`). Run it with
 * `tf.engine().runKernel(EMBEDDING_GATHER_KERNEL, { x, indices })` on either backend; its
 * gradient is registered too (`tf.scatterND` of the output gradient for `x`, zeros for `indices`).
 */
export const EMBEDDING_GATHER_KERNEL = 'EmbeddingLayerGatherRows';

/**
 * Rows of at least this many floats are copied with one `TypedArray.set` each (a memmove);
 * narrower ones eight rows at a time by a loop (a `subarray` view and a `set` call per row cost
 * more than copying a narrow row element by element, and eight independent rows in flight hide
 * more of the memory latency of random rows).
 */
const SET_MIN_WIDTH = 192;

/** The part of TF.js's CPU backend (`MathBackendCPU`) the fast path reads: its data store, which holds each tensor's values as a TypedArray. */
interface CpuBackendLike {
  readonly data: { get(dataId: unknown): { values?: unknown } };
  refCount(dataId: unknown): number;
  makeTensorInfo(shape: number[], dtype: tfjs.DataType, values: Float32Array): tfjs.TensorInfo;
}

/** Tables this package placed in a WebAssembly memory with core's gather kernel ({@link kernelStorage}), by their memory's buffer. */
const KERNEL_TABLES = new WeakMap<ArrayBufferLike, WasmRows>();

/**
 * A zero-filled Float32Array of `rows` x `width` floats for TF.js's cpu backend to hold as a
 * tensor's values (it keeps the array it is given): a view over a WebAssembly memory that never
 * grows, with core's gather kernel instantiated over it, so that {@link copyRows} from it runs
 * the kernel (adapter-js's) instead of a JavaScript loop, with no second copy of the table.
 * A plain Float32Array where the kernel or a memory of that size is unavailable (then
 * {@link copyRows} takes its JavaScript loops).
 */
export function kernelStorage(rows: number, width: number): Float32Array {
  const wasm = rows > 0 && width > 0 ? createWasmRows(rows, width) : null;
  if (wasm === null) return new Float32Array(rows * width);
  KERNEL_TABLES.set(wasm.memory.buffer, wasm);
  return wasm.table;
}

/** The kernel table behind `table` when it is (exactly) a {@link kernelStorage} array of rows `width` floats wide, else null. */
export function kernelTableOf(table: Float32Array, width: number): WasmRows | null {
  const wasm = KERNEL_TABLES.get(table.buffer);
  if (wasm === undefined) return null;
  const own = wasm.table;
  return own.byteOffset === table.byteOffset && own.length === table.length && wasm.layout.rowBytes === width * 4 ? wasm : null;
}

/**
 * Copies rows: `out[i * width ... (i + 1) * width) = table[ids[i] * width ... (ids[i] + 1) * width)`.
 * Indices must already be valid (integers in [0, rows)). A {@link kernelStorage} table is
 * gathered by core's WebAssembly kernel (the same as adapter-js's: bytes moved, bit-exact).
 * Otherwise bit-exact for every float32 pattern,
 * NaN payloads included: wide rows go through `TypedArray.set` (a memmove of same-typed
 * arrays); narrower rows of an even width, with both arrays 8-byte aligned, through Float64Array
 * views (two floats per load and store: 64-bit patterns moved, never computed with, so no NaN
 * is quieted; 2.5x faster than `set` per row at 64 wide on a 1,000-row table and 1.3-1.5x on
 * 50,000 x 128, same process, CPU time); the rest through Int32Array views (integers, never
 * converted to float64).
 */
export function copyRows(table: Float32Array, width: number, ids: Int32Array, out: Float32Array): void {
  const wasm = kernelTableOf(table, width);
  if (wasm !== null) {
    wasm.gather(ids, out);
    return;
  }
  if (width >= SET_MIN_WIDTH) {
    for (let i = 0, o = 0; i < ids.length; i++, o += width) {
      const start = ids[i]! * width;
      out.set(table.subarray(start, start + width), o);
    }
    return;
  }
  if ((width & 1) === 0 && table.byteOffset % 8 === 0 && out.byteOffset % 8 === 0) {
    copyRowsFloat64(
      new Float64Array(table.buffer, table.byteOffset, table.length / 2),
      width / 2,
      ids,
      new Float64Array(out.buffer, out.byteOffset, out.length / 2),
    );
    return;
  }
  copyRowsInt32(
    new Int32Array(table.buffer, table.byteOffset, table.length),
    width,
    ids,
    new Int32Array(out.buffer, out.byteOffset, out.length),
  );
}

/**
 * {@link copyRows} on Float64Array views (`w` = pairs of floats per row), eight rows interleaved.
 * A separate function from {@link copyRowsInt32} so that each stays monomorphic.
 */
function copyRowsFloat64(t: Float64Array, w: number, ids: Int32Array, out: Float64Array): void {
  const n = ids.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const s0 = ids[i]! * w;
    const s1 = ids[i + 1]! * w;
    const s2 = ids[i + 2]! * w;
    const s3 = ids[i + 3]! * w;
    const s4 = ids[i + 4]! * w;
    const s5 = ids[i + 5]! * w;
    const s6 = ids[i + 6]! * w;
    const s7 = ids[i + 7]! * w;
    let o = i * w;
    for (let j = 0; j < w; j++, o++) {
      out[o] = t[s0 + j]!;
      out[o + w] = t[s1 + j]!;
      out[o + 2 * w] = t[s2 + j]!;
      out[o + 3 * w] = t[s3 + j]!;
      out[o + 4 * w] = t[s4 + j]!;
      out[o + 5 * w] = t[s5 + j]!;
      out[o + 6 * w] = t[s6 + j]!;
      out[o + 7 * w] = t[s7 + j]!;
    }
  }
  for (; i < n; i++) {
    const s = ids[i]! * w;
    const o = i * w;
    for (let j = 0; j < w; j++) out[o + j] = t[s + j]!;
  }
}

/** {@link copyRows} on Int32Array views, eight rows interleaved (eight independent loads per step). */
function copyRowsInt32(t: Int32Array, w: number, ids: Int32Array, out: Int32Array): void {
  const n = ids.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const s0 = ids[i]! * w;
    const s1 = ids[i + 1]! * w;
    const s2 = ids[i + 2]! * w;
    const s3 = ids[i + 3]! * w;
    const s4 = ids[i + 4]! * w;
    const s5 = ids[i + 5]! * w;
    const s6 = ids[i + 6]! * w;
    const s7 = ids[i + 7]! * w;
    let o = i * w;
    for (let j = 0; j < w; j++, o++) {
      out[o] = t[s0 + j]!;
      out[o + w] = t[s1 + j]!;
      out[o + 2 * w] = t[s2 + j]!;
      out[o + 3 * w] = t[s3 + j]!;
      out[o + 4 * w] = t[s4 + j]!;
      out[o + 5 * w] = t[s5 + j]!;
      out[o + 6 * w] = t[s6 + j]!;
      out[o + 7 * w] = t[s7 + j]!;
    }
  }
  for (; i < n; i++) {
    const s = ids[i]! * w;
    const o = i * w;
    for (let j = 0; j < w; j++) out[o + j] = t[s + j]!;
  }
}

/**
 * The float32 values behind `tensor` when TF.js's active backend is `cpu`: the very
 * TypedArray in the backend's data store (no copy; a tensor held by another backend is
 * moved to the cpu backend first, as any cpu kernel would). Null on other backends or when
 * the values are not a Float32Array. Read only: writing into it changes the tensor.
 */
export function cpuValues(tf: TfjsRuntime, tensor: tfjs.TensorInfo): Float32Array | null {
  const engine = tf.engine();
  if (engine.backendName !== 'cpu') return null;
  const values = (engine.backend as unknown as CpuBackendLike).data.get(tensor.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/** The part of TF.js's wasm backend (`BackendWasm`) the fast path reads: where each tensor lives in the module's heap. */
interface WasmBackendLike {
  readonly wasm?: { readonly HEAPU8?: Uint8Array } | null;
  readonly dataIdMap?: { get(dataId: unknown): { memoryOffset?: number | null } | undefined };
}

/**
 * The float32 values behind `tensor` when TF.js's active backend is `wasm`: a Float32Array
 * view of the tensor's bytes in the wasm module's heap (no copy; what TF.js's own kernels read).
 * Null on other backends, for other dtypes, or when the tensor is not on the wasm backend.
 * The view is valid until the heap next grows (any TF.js allocation): take a new one per call
 * and do not keep it across an await. Read only, as {@link cpuValues}.
 */
export function wasmValues(tf: TfjsRuntime, tensor: tfjs.TensorInfo): Float32Array | null {
  const engine = tf.engine();
  if (engine.backendName !== 'wasm' || tensor.dtype !== 'float32') return null;
  const backend = engine.backend as unknown as WasmBackendLike;
  const heap = backend.wasm?.HEAPU8;
  const offset = backend.dataIdMap?.get(tensor.dataId)?.memoryOffset;
  if (!heap || typeof offset !== 'number') return null;
  let size = 1;
  for (const n of tensor.shape) size *= n;
  return new Float32Array(heap.buffer, offset, size);
}

/**
 * A float32 tensor of `shape` allocated in TF.js's wasm heap and not written (its values are
 * whatever the heap held): for filling through {@link wasmValues} in row ranges, so that a
 * table reaches the heap without a whole-table JavaScript array beside it. Null when TF.js's
 * active backend is not `wasm` or the shape is empty. The caller writes every value, then keeps
 * or disposes the tensor.
 */
export function heapTensor(tf: TfjsRuntime, shape: number[]): tfjs.Tensor | null {
  const engine = tf.engine() as unknown as {
    backendName: string;
    backend: { makeOutput?: (shape: number[], dtype: 'float32') => tfjs.TensorInfo };
    makeTensorFromTensorInfo?: (info: tfjs.TensorInfo) => tfjs.Tensor;
  };
  if (engine.backendName !== 'wasm' || shape.some((n) => n === 0)) return null;
  if (typeof engine.backend.makeOutput !== 'function' || typeof engine.makeTensorFromTensorInfo !== 'function') return null;
  // As a kernel makes its output: allocated by the backend, then tracked by the engine.
  return engine.makeTensorFromTensorInfo(engine.backend.makeOutput(shape, 'float32'));
}

/**
 * The float32 values behind `tensor` on TF.js's active backend, without a copy, where this
 * package can read them: {@link cpuValues} on `cpu`, {@link wasmValues} on `wasm`; null elsewhere.
 */
export function backendValues(tf: TfjsRuntime, tensor: tfjs.TensorInfo): Float32Array | null {
  return cpuValues(tf, tensor) ?? wasmValues(tf, tensor);
}

/**
 * Whether no other tensor shares `tensor`'s storage on TF.js's active backend (its data's
 * reference count is 1), so that writing into {@link backendValues} changes `tensor` alone.
 * The cpu and wasm backends both count references per data id.
 */
export function ownsStorage(tf: TfjsRuntime, tensor: tfjs.TensorInfo): boolean {
  return (tf.engine().backend as unknown as CpuBackendLike).refCount(tensor.dataId) === 1;
}

/** The cpu kernel: checks its inputs (it is reachable by name), then one {@link copyRows} into a fresh Float32Array that becomes the output tensor's storage. */
function gatherRowsKernel({ inputs, backend }: { inputs: tfjs.NamedTensorInfoMap; backend: unknown }): tfjs.TensorInfo {
  const { x, indices } = inputs as { x: tfjs.TensorInfo; indices: tfjs.TensorInfo };
  const cpu = backend as CpuBackendLike;
  if (x.shape.length !== 2 || x.dtype !== 'float32' || indices.dtype !== 'int32') {
    throw new Error(
      `${EMBEDDING_GATHER_KERNEL}: expects a float32 rank-2 x and int32 indices, received x ${x.dtype} [${x.shape}] and indices ${indices.dtype}.`,
    );
  }
  const table = cpu.data.get(x.dataId).values;
  const ids = cpu.data.get(indices.dataId).values;
  if (!(table instanceof Float32Array) || !(ids instanceof Int32Array)) {
    throw new Error(`${EMBEDDING_GATHER_KERNEL}: the cpu backend holds no Float32Array / Int32Array values for its inputs.`);
  }
  const [rows, width] = x.shape as [number, number];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= rows) throw new Error(`${EMBEDDING_GATHER_KERNEL}: index ${id} at flat position ${i} is not in [0, ${rows - 1}].`);
  }
  const out = new Float32Array(ids.length * width);
  copyRows(table, width, ids, out);
  return cpu.makeTensorInfo([...indices.shape, width], 'float32', out);
}

/** The part of TF.js's wasm backend its kernels use: outputs allocated in the heap, heap views of tensors. */
interface WasmKernelBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tfjs.TensorInfo;
  typedArrayFromHeap(info: tfjs.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * The wasm kernel: the same checks and {@link copyRows} as the cpu kernel, from the table's heap
 * bytes into an output allocated in the heap (views are taken after the allocation, which may
 * grow the heap).
 */
function gatherRowsWasmKernel({ inputs, backend }: { inputs: tfjs.NamedTensorInfoMap; backend: unknown }): tfjs.TensorInfo {
  const { x, indices } = inputs as { x: tfjs.TensorInfo; indices: tfjs.TensorInfo };
  const wasm = backend as WasmKernelBackendLike;
  if (x.shape.length !== 2 || x.dtype !== 'float32' || indices.dtype !== 'int32') {
    throw new Error(
      `${EMBEDDING_GATHER_KERNEL}: expects a float32 rank-2 x and int32 indices, received x ${x.dtype} [${x.shape}] and indices ${indices.dtype}.`,
    );
  }
  const [rows, width] = x.shape as [number, number];
  const checked = wasm.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < checked.length; i++) {
    const id = checked[i]!;
    if (id < 0 || id >= rows) throw new Error(`${EMBEDDING_GATHER_KERNEL}: index ${id} at flat position ${i} is not in [0, ${rows - 1}].`);
  }
  const out = wasm.makeOutput([...indices.shape, width], 'float32');
  copyRows(
    wasm.typedArrayFromHeap(x) as Float32Array,
    width,
    wasm.typedArrayFromHeap(indices) as Int32Array,
    wasm.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

/**
 * Registers {@link EMBEDDING_GATHER_KERNEL} for TF.js's `cpu` and `wasm` backends and its
 * gradient, once per TF.js module (TF.js's kernel registry is global; a registration made by
 * another copy of this package is kept).
 */
export function registerGatherKernel(tf: TfjsRuntime): void {
  if (!tf.getKernel(EMBEDDING_GATHER_KERNEL, 'cpu')) {
    tf.registerKernel({
      kernelName: EMBEDDING_GATHER_KERNEL,
      backendName: 'cpu',
      kernelFunc: gatherRowsKernel as unknown as tfjs.KernelFunc,
    });
  }
  if (!tf.getKernel(EMBEDDING_GATHER_KERNEL, 'wasm')) {
    tf.registerKernel({
      kernelName: EMBEDDING_GATHER_KERNEL,
      backendName: 'wasm',
      kernelFunc: gatherRowsWasmKernel as unknown as tfjs.KernelFunc,
    });
  }
  if (!tf.getGradient(EMBEDDING_GATHER_KERNEL)) {
    tf.registerGradient({
      kernelName: EMBEDDING_GATHER_KERNEL,
      inputsToSave: ['x', 'indices'],
      gradFunc: (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]) => {
        const [x, indices] = saved as [tfjs.Tensor, tfjs.Tensor];
        const grad = dy as tfjs.Tensor;
        const width = x.shape[1]!;
        return {
          // Duplicate indices add up, as in TF.js's own gather gradient (an unsorted segment sum).
          x: () => tf.scatterND(tf.reshape(indices, [indices.size, 1]), tf.reshape(grad, [indices.size, width]), x.shape),
          // Indices are not differentiable; TF.js's tape wants float32 gradients.
          indices: () => tf.zeros(indices.shape, 'float32'),
        };
      },
    });
  }
}

/**
 * Whether {@link fastGather} runs this package's kernel: TF.js's active backend is `cpu` or
 * `wasm` and the kernel is registered there. Elsewhere (webgl, webgpu...) it is `tf.gather`.
 */
export function fastGatherActive(tf: TfjsRuntime): boolean {
  const name = tf.engine().backendName;
  return (name === 'cpu' || name === 'wasm') && tf.getKernel(EMBEDDING_GATHER_KERNEL, name) !== undefined;
}

/**
 * `tf.gather(table, ids)` for a float32 (rows, width) table and int32 ids already checked to
 * be in range: this package's kernel on the cpu and wasm backends ({@link fastGatherActive}),
 * TF.js's gather on the others. Differentiable either way.
 */
export function fastGather(tf: TfjsRuntime, table: tfjs.Tensor, ids: tfjs.Tensor): tfjs.Tensor {
  if (!fastGatherActive(tf)) return tf.gather(table, ids);
  return tf.engine().runKernel(EMBEDDING_GATHER_KERNEL, { x: table, indices: ids }, {}) as tfjs.Tensor;
}
