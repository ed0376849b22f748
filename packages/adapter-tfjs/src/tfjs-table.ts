import type {
  EmbeddingOutput,
  EmbeddingTableV2,
  IndexTensor,
  ResolvedEmbeddingConfig,
  RowSource,
  TableDescription,
  TableReplacementV2,
} from '@embedding-layer/core';
import { InvalidConfigError } from '@embedding-layer/core';
import { copySourceRows, readAllRows } from '@embedding-layer/core/backend';
import type * as tfjs from '@tensorflow/tfjs';
import { backendValues, copyRows, fastGather, heapTensor, kernelStorage, kernelTableOf, ownsStorage, wasmValues } from './fast-gather.js';
import type { TfjsRuntime } from './runtime.js';

/** The TF.js types of the native path: a `tf.Tensor` of indices in, a float32 `tf.Tensor` out, a bool `tf.Tensor` mask. */
export interface TfjsNative {
  readonly input: tfjs.Tensor;
  readonly output: tfjs.Tensor;
  readonly mask: tfjs.Tensor;
}

/** The table's rows are written into the wasm heap across awaits: a switch of TF.js's backend meanwhile leaves nowhere to write them. */
function backendChanged(tf: TfjsRuntime, when: string): InvalidConfigError {
  return new InvalidConfigError(
    `TF.js's active backend changed from "wasm" to ${JSON.stringify(tf.engine().backendName)} ${when}; the rows were being written into the wasm heap. ` +
      'Call tf.setBackend before creating the layer (or setting its weights) and not while it runs.',
  );
}

/**
 * One layer's table on TF.js: a single `tf.Variable` of shape (inputDim, outputDim), float32.
 * Core validates every argument before a hook runs, so the hooks only move data.
 *
 * Lookups take the fast path when it is enabled and TF.js's active backend is `cpu` or `wasm`:
 * rows are copied straight from the variable's values (the Float32Array in the cpu backend's
 * data store, which this package makes a view over a WebAssembly memory so that core's gather
 * kernel reads it in place, falling back to a JavaScript row copy when TF.js holds another
 * array; the variable's bytes in the wasm module's heap) into the output (a fresh
 * Float32Array, or the caller's with `predict(x, { out })`), with no tensor made and no copy of
 * the table. Elsewhere (webgl, webgpu...) they are `tf.gather`. `doReadRows`, `doWriteRows` and
 * `doScatterAdd` read and write those values in place the same way.
 */
export class TfjsTable implements EmbeddingTableV2<TfjsNative> {
  /** The TF.js module the variable belongs to. */
  readonly tf: TfjsRuntime;
  /** The table. Replaced by `assign` (`setWeights`); on the cpu and wasm fast paths `doScatterAdd` and `doWriteRows` write into its storage when it is the sole owner. Null after dispose. */
  variable: tfjs.Variable | null;
  private readonly inputDim: number;
  private readonly outputDim: number;
  /** Whether lookups and `lookupTensor` may use this package's row copy on the cpu backend. */
  readonly fastPath: boolean;

  /**
   * A table over `weights`: the values (which TF.js's cpu backend keeps as the variable's storage,
   * no copy) or a (rows, width) float32 tensor, which becomes the variable (and is disposed).
   */
  constructor(tf: TfjsRuntime, config: ResolvedEmbeddingConfig, weights: Float32Array | tfjs.Tensor, fastPath = true) {
    this.tf = tf;
    this.fastPath = fastPath;
    this.inputDim = config.inputDim;
    this.outputDim = config.outputDim;
    // trainable=false: the variable is updated by doScatterAdd, never by TF.js optimizers' global search.
    this.variable = tf.tidy(() => tf.variable(weights instanceof Float32Array ? this.matrix(weights) : weights, false));
    if (!(weights instanceof Float32Array)) weights.dispose();
  }

  /**
   * Creates a table from core's row source. On the wasm fast path the rows are written straight
   * into the variable's heap bytes, a chunk (about 16 MiB) at a time: the heap holds the table
   * and nothing else holds a second copy (TF.js's own path, `tensor2d` of one whole array, needs
   * the array and the heap copy at once: 2x the table). Elsewhere one array of every row, which
   * TF.js's cpu backend keeps as the variable's storage.
   */
  static async create(
    tf: TfjsRuntime,
    config: ResolvedEmbeddingConfig,
    source: RowSource,
    fastPath: boolean,
    backend: string,
  ): Promise<TfjsTable> {
    const d = config.outputDim;
    const heap = fastPath ? heapTensor(tf, [config.inputDim, d]) : null;
    if (heap !== null) {
      try {
        await copySourceRows(source, (start, rows) => {
          // A new view per chunk: another allocation in the heap during the await may have grown it.
          const values = wasmValues(tf, heap);
          if (values === null) throw backendChanged(tf, 'while the table was being created');
          values.set(rows, start * d);
        });
      } catch (error) {
        heap.dispose();
        throw error;
      }
      return new TfjsTable(tf, config, heap, fastPath);
    }
    if (fastPath && tf.engine().backendName === 'cpu') {
      // TF.js's cpu backend keeps the array it is given as the variable's values: a view over a
      // WebAssembly memory, filled a chunk at a time, which core's gather kernel reads in place.
      const values = kernelStorage(config.inputDim, d);
      await copySourceRows(source, (start, rows) => values.set(rows, start * d));
      return new TfjsTable(tf, config, values, fastPath);
    }
    return new TfjsTable(tf, config, await readAllRows(source, backend), fastPath);
  }

  /** A new array for the whole table: {@link kernelStorage} on the cpu fast path (so lookups keep core's kernel after a replace), else a plain one. */
  private newValues(): Float32Array {
    return this.fastPath && this.tf.engine().backendName === 'cpu'
      ? kernelStorage(this.inputDim, this.outputDim)
      : new Float32Array(this.inputDim * this.outputDim);
  }

  /** A copy of the whole table's values in {@link newValues} storage. */
  private copyValues(values: Float32Array): Float32Array {
    const copy = this.newValues();
    copy.set(values);
    return copy;
  }

  private matrix(weights: Float32Array): tfjs.Tensor2D {
    return this.tf.tensor2d(weights, [this.inputDim, this.outputDim], 'float32');
  }

  /** The live variable; core never calls a hook after dispose. */
  live(): tfjs.Variable {
    if (this.variable === null) throw new Error('TfjsTable used after dispose (core should have prevented this).');
    return this.variable;
  }

  doLookup(indices: IndexTensor, out?: Float32Array): EmbeddingOutput | Promise<EmbeddingOutput> {
    const variable = this.live();
    const shape = [...indices.shape, this.outputDim];
    const table = this.fastPath ? backendValues(this.tf, variable) : null;
    if (table === null) return this.gatherLookup(variable, indices, shape, out);
    const data = out ?? new Float32Array(indices.data.length * this.outputDim);
    copyRows(table, this.outputDim, indices.data, data);
    return { data, shape };
  }

  /** The standard path: `tf.gather` on the variable, read back (then copied into `out` when given). */
  private async gatherLookup(variable: tfjs.Variable, indices: IndexTensor, shape: number[], out?: Float32Array): Promise<EmbeddingOutput> {
    const tf = this.tf;
    const result = tf.tidy(() => tf.gather(variable, tf.tensor1d(indices.data, 'int32')));
    try {
      const data = (await result.data()) as Float32Array;
      if (out === undefined) return { data, shape };
      out.set(data);
      return { data: out, shape };
    } finally {
      result.dispose();
    }
  }

  /** Replaces the whole table (one new tensor, assigned to the variable). */
  private replace(weights: Float32Array): void {
    const variable = this.live();
    const next = this.matrix(weights);
    try {
      variable.assign(next);
    } finally {
      next.dispose();
    }
  }

  async doReadRows(start: number, count: number): Promise<Float32Array> {
    const variable = this.live();
    const d = this.outputDim;
    // An empty range: WebGL's data() of an empty slice is a plain [], not a Float32Array.
    if (count === 0 || d === 0) return new Float32Array(0);
    const values = this.fastPath ? backendValues(this.tf, variable) : null;
    if (values !== null) return values.slice(start * d, (start + count) * d);
    const tf = this.tf;
    const part = tf.tidy(() => tf.slice(variable, [start, 0], [count, d]));
    try {
      const data = await part.data();
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    } finally {
      part.dispose();
    }
  }

  doWriteRows(start: number, rows: Float32Array): void {
    const tf = this.tf;
    const variable = this.live();
    const d = this.outputDim;
    const count = d === 0 ? 0 : rows.length / d;
    const values = this.fastPath ? backendValues(tf, variable) : null;
    if (values !== null) {
      // In place when the variable owns its storage; else into a copy that becomes its value (copy on write).
      if (ownsStorage(tf, variable)) values.set(rows, start * d);
      else {
        const copy = this.copyValues(values);
        copy.set(rows, start * d);
        this.replace(copy);
      }
      return;
    }
    if (count === 0) return;
    // The rows are a contiguous range: the table is rebuilt by slicing and concatenating, which
    // copies values exactly on every TF.js backend (WebGL's tensorScatterUpdate blends with
    // arithmetic and returned 0.99999994 for a written 1 on SwiftShader).
    const next = tf.tidy(() => {
      const parts = [];
      if (start > 0) parts.push(tf.slice(variable, [0, 0], [start, d]));
      parts.push(tf.tensor2d(rows, [count, d], 'float32'));
      const rest = this.inputDim - start - count;
      if (rest > 0) parts.push(tf.slice(variable, [start + count, 0], [rest, d]));
      return parts.length === 1 ? parts[0]!.clone() : tf.concat(parts, 0);
    });
    try {
      variable.assign(next);
    } finally {
      next.dispose();
    }
  }

  /**
   * setWeights: the rows are staged in a new tensor and assigned at commit. On the wasm fast path
   * the new tensor is in the heap and the rows are written into it (the heap holds the old and
   * the new table until commit: 2x; staging in a JavaScript array first would add a third copy).
   * Elsewhere they are staged in one Float32Array, assigned as one new tensor.
   */
  doBeginReplace(): TableReplacementV2 {
    this.live();
    const d = this.outputDim;
    const tf = this.tf;
    let heap = this.fastPath ? heapTensor(tf, [this.inputDim, d]) : null;
    if (heap !== null) {
      return {
        write: (start, rows) => {
          const values = wasmValues(tf, heap!);
          if (values === null) throw backendChanged(tf, 'during setWeights');
          values.set(rows, start * d);
        },
        commit: () => {
          this.live().assign(heap!);
          heap!.dispose();
          heap = null;
        },
        abort: () => {
          heap?.dispose();
          heap = null;
        },
      };
    }
    let staged: Float32Array | null = this.newValues();
    return {
      write: (start, rows) => {
        staged!.set(rows, start * d);
      },
      commit: () => {
        this.replace(staged!);
        staged = null;
      },
      abort: () => {
        staged = null;
      },
    };
  }

  doLookupNative(indices: tfjs.Tensor): tfjs.Tensor {
    const tf = this.tf;
    const variable = this.live();
    return tf.tidy(() => {
      const ids = indices.dtype === 'int32' ? indices : tf.cast(indices, 'int32');
      return this.fastPath ? fastGather(tf, variable, ids) : tf.gather(variable, ids);
    });
  }

  doMaskNative(indices: tfjs.Tensor): tfjs.Tensor {
    const tf = this.tf;
    return tf.tidy(() => tf.notEqual(indices, tf.zerosLike(indices)));
  }

  doDescribe(): TableDescription {
    const tf = this.tf;
    const name = tf.engine().backendName;
    const fast = this.fastPath && (name === 'cpu' || name === 'wasm');
    const values = fast && this.variable !== null ? backendValues(tf, this.variable) : null;
    return {
      runtimeBackend: name,
      fastPath: fast,
      // What copies the rows of a lookup: core's WebAssembly kernel (the cpu backend holds the
      // table in its memory), this package's JavaScript row copy, or TF.js's gather.
      gather: values === null ? 'tf.gather' : kernelTableOf(values, this.outputDim) !== null ? 'wasm-kernel' : 'js',
      storedBytes: this.inputDim * this.outputDim * 4,
    };
  }

  doScatterAdd(rows: Int32Array, deltas: Float32Array): void {
    const tf = this.tf;
    const variable = this.live();
    const d = this.outputDim;
    // Fast path: add in place into the variable's storage, as TF.js's cpu add does (float64 sum
    // rounded to float32: the correctly rounded float32 sum, which is also what wasm's float32
    // add gives, since rounding twice is exact for 53 >= 2 x 24 + 2 bits), in O(rows x outputDim).
    // If another tensor shares that storage, into a copy that becomes the variable's value (copy on write).
    const values = this.fastPath ? backendValues(tf, variable) : null;
    if (values !== null) {
      const exclusive = ownsStorage(tf, variable);
      const table = exclusive ? values : this.copyValues(values);
      for (let k = 0; k < rows.length; k++) {
        const start = rows[k]! * d;
        const from = k * d;
        for (let j = 0; j < d; j++) table[start + j] = table[start + j]! + deltas[from + j]!;
      }
      if (!exclusive) this.replace(table);
      return;
    }
    // rows are distinct (core sums duplicates): gather them, add, write them back.
    const next = tf.tidy(() => {
      const ids = tf.tensor2d(rows, [rows.length, 1], 'int32');
      const updated = tf.add(tf.gather(variable, ids.reshape([rows.length])), tf.tensor2d(deltas, [rows.length, d], 'float32'));
      return tf.tensorScatterUpdate(variable, ids, updated);
    });
    try {
      variable.assign(next);
    } finally {
      next.dispose();
    }
  }

  doDispose(): void {
    this.variable?.dispose();
    this.variable = null;
  }
}
