import type {
  EmbeddingOutput,
  EmbeddingTableV2,
  IndexTensor,
  KerasObject,
  ResolvedEmbeddingConfig,
  RowSource,
  TableDescription,
  TableReplacementV2,
} from '@embedding-layer/core';
import { copySourceRows } from '@embedding-layer/core/backend';
import { decodeRows, encodeRows } from './codec.js';
import type { GpuDevice, Kernel, SplitDispatch } from './gpu-device.js';
import { splitRows, type TableLayout } from './layout.js';
import type { WebGpuIndices, WebGpuLookup, WebGpuMask, WebGpuNativeTypes } from './native.js';

/**
 * A table in GPU storage buffers: split `s` holds rows `[s * rowsPerSplit, ...)` in one buffer
 * no larger than the binding limit (see {@link TableLayout}). Lookups run the WGSL gather
 * kernel once per split the indices touch, into one output buffer; rows are written and read
 * as row ranges through the queue, encoded and decoded with core's codec on the CPU.
 */
export class GpuTable implements EmbeddingTableV2<WebGpuNativeTypes> {
  private buffers: GPUBuffer[];
  /** Adagrad's accumulator, one buffer per split (same layout), made at the first Adagrad step. */
  private accumulators: GPUBuffer[] | null = null;

  private constructor(
    private readonly gpu: GpuDevice,
    readonly layout: TableLayout,
    buffers: GPUBuffer[],
  ) {
    this.buffers = buffers;
  }

  /** A table for `config`, filled from `initial` one chunk of rows at a time. */
  static async create(gpu: GpuDevice, config: ResolvedEmbeddingConfig, layout: TableLayout, initial: RowSource): Promise<GpuTable> {
    gpu.check('table creation');
    const table = new GpuTable(gpu, layout, await GpuTable.allocate(gpu, layout, `table ${config.name}`));
    await copySourceRows(initial, (start, rows) => table.doWriteRows(start, rows));
    await gpu.device.queue.onSubmittedWorkDone();
    gpu.check('table creation');
    return table;
  }

  /**
   * One zeroed buffer per split, allocated inside WebGPU error scopes: when the device refuses
   * one (out of memory), they are all destroyed and the call rejects with `LimitExceededError`.
   */
  private static async allocate(gpu: GpuDevice, layout: TableLayout, label: string): Promise<GPUBuffer[]> {
    const close = gpu.guard('table', layout.rows * layout.rowWords * 4);
    const buffers: GPUBuffer[] = [];
    for (let s = 0; s < layout.splits; s++) {
      buffers.push(
        gpu.buffer(
          splitRows(layout, s) * layout.rowWords * 4,
          GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
          `embedding-layer ${label} split ${s}`,
        ),
      );
    }
    try {
      await close();
    } catch (error) {
      for (const b of buffers) b.destroy();
      gpu.check('table creation');
      throw error;
    }
    return buffers;
  }

  /** Bytes held on the GPU. */
  get storedBytes(): number {
    return this.buffers.reduce((sum, b) => sum + b.size, 0);
  }

  /** The splits holding any of `rows` (each split once, in order), bound with `extra` before and after the table as `order` says. */
  private splitsOf(rows: Int32Array, d: number, bind: (table: GPUBuffer) => GPUBuffer[]): SplitDispatch[] {
    const { rowsPerSplit, rowWords } = this.layout;
    const touched = new Uint8Array(this.buffers.length);
    for (let i = 0; i < rows.length; i++) touched[Math.floor(rows[i]! / rowsPerSplit)] = 1;
    const out: SplitDispatch[] = [];
    for (let s = 0; s < touched.length; s++) {
      if (touched[s] === 0) continue;
      out.push({
        index: s,
        d,
        first: s * rowsPerSplit,
        count: splitRows(this.layout, s),
        stride: rowWords,
        buffers: bind(this.buffers[s]!),
      });
    }
    return out;
  }

  /**
   * Encodes the gather of `ids` into a new output buffer: `d` words per index, decoded by
   * `kernel` (`'float32'` with `d` = row words copies stored words as they are). With several
   * splits, the output positions are grouped by split (a counting sort on the host) so that
   * each dispatch works only on its own outputs.
   */
  private encodeGather(
    ids: Int32Array,
    kernel: Kernel,
    d: number,
    usage: GPUBufferUsageFlags,
  ): { encoder: GPUCommandEncoder; out: GPUBuffer; temps: GPUBuffer[] } {
    const gpu = this.gpu;
    const out = gpu.buffer(ids.length * d * 4, GPUBufferUsage.STORAGE | usage, 'embedding-layer lookup output');
    const idBuffer = gpu.upload(ids, 'embedding-layer indices');
    const encoder = gpu.device.createCommandEncoder({ label: 'embedding-layer gather' });
    const { rowsPerSplit, rowWords } = this.layout;
    const temps = [idBuffer];
    let splits: SplitDispatch[];
    if (this.buffers.length === 1) {
      splits = this.splitsOf(ids, d, (table) => [idBuffer, table, out, idBuffer]);
    } else {
      const counts = new Uint32Array(this.buffers.length + 1);
      for (let i = 0; i < ids.length; i++) counts[Math.floor(ids[i]! / rowsPerSplit) + 1]!++;
      for (let s = 1; s < counts.length; s++) counts[s]! += counts[s - 1]!;
      const next = counts.slice(0, this.buffers.length);
      const order = new Uint32Array(Math.max(1, ids.length));
      for (let i = 0; i < ids.length; i++) order[next[Math.floor(ids[i]! / rowsPerSplit)]!++] = i;
      const orderBuffer = gpu.upload(order, 'embedding-layer order');
      temps.push(orderBuffer);
      splits = [];
      for (let s = 0; s < this.buffers.length; s++) {
        const n = counts[s + 1]! - counts[s]!;
        if (n === 0) continue;
        splits.push({
          index: s,
          d,
          first: s * rowsPerSplit,
          count: splitRows(this.layout, s),
          stride: rowWords,
          buffers: [idBuffer, this.buffers[s]!, out, orderBuffer],
          total: n * d,
          base: counts[s]!,
        });
      }
    }
    temps.push(gpu.dispatch(encoder, kernel, ids.length * d, splits));
    return { encoder, out, temps };
  }

  doLookup(indices: IndexTensor, into?: Float32Array): Promise<EmbeddingOutput> | EmbeddingOutput {
    this.gpu.check('lookup');
    const d = this.layout.outputDim;
    const n = indices.data.length;
    const shape = [...indices.shape, d];
    const data = into ?? new Float32Array(n * d);
    if (n * d === 0) return { data, shape };
    return this.lookupInto(indices.data, data, shape);
  }

  private async lookupInto(ids: Int32Array, data: Float32Array, shape: number[]): Promise<EmbeddingOutput> {
    const close = this.gpu.guard('lookup', data.byteLength);
    const { encoder, out, temps } = this.encodeGather(ids, this.layout.storage, this.layout.outputDim, GPUBufferUsage.COPY_SRC);
    const reading = this.gpu.readBack(
      encoder,
      data.byteLength,
      'lookup',
      (staging) => encoder.copyBufferToBuffer(out, 0, staging, 0, data.byteLength),
      (mapped) => data.set(new Float32Array(mapped, 0, data.length)),
    );
    try {
      await Promise.all([close(), reading]);
    } finally {
      this.gpu.release([out, ...temps]);
    }
    return { data, shape };
  }

  /**
   * The native lookup: the same gather, left on the GPU. The caller owns the returned buffer
   * (usage STORAGE | COPY_SRC | COPY_DST) and destroys it when done.
   */
  doLookupNative(_indices: WebGpuIndices, checked: IndexTensor): WebGpuLookup {
    this.gpu.check('native lookup');
    const d = this.layout.outputDim;
    const { encoder, out, temps } = this.encodeGather(
      checked.data,
      this.layout.storage,
      d,
      GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
    this.gpu.device.queue.submit([encoder.finish()]);
    this.gpu.release(temps);
    return { buffer: out, shape: [...checked.shape, d], byteLength: checked.data.length * d * 4 };
  }

  /** The native mask (`indices != 0`, one u32 per index), computed from the validated indices and uploaded. */
  doMaskNative(_indices: WebGpuIndices, checked: IndexTensor): WebGpuMask {
    this.gpu.check('native mask');
    const ids = checked.data;
    const mask = new Uint32Array(ids.length);
    for (let i = 0; i < ids.length; i++) mask[i] = ids[i] !== 0 ? 1 : 0;
    const buffer = this.gpu.buffer(
      mask.byteLength,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      'embedding-layer mask',
    );
    if (mask.length > 0) this.gpu.device.queue.writeBuffer(buffer, 0, mask);
    return { buffer, shape: [...checked.shape], byteLength: mask.byteLength };
  }

  async doReadRows(start: number, count: number): Promise<Float32Array> {
    this.gpu.check('readRows');
    const { rowWords } = this.layout;
    const bytes = count * rowWords * 4;
    if (bytes === 0) return new Float32Array(count * this.layout.outputDim);
    const close = this.gpu.guard('readRows', bytes);
    const encoder = this.gpu.device.createCommandEncoder({ label: 'embedding-layer readRows' });
    const reading = this.gpu.readBack(
      encoder,
      bytes,
      'readRows',
      (staging) =>
        this.eachSplit(start, count, (s, local, at, n) => {
          encoder.copyBufferToBuffer(this.buffers[s]!, local * rowWords * 4, staging, at * rowWords * 4, n * rowWords * 4);
        }),
      (mapped) => decodeRows(this.layout, new Uint32Array(mapped, 0, count * rowWords), count),
    );
    const [, rows] = await Promise.all([close(), reading]);
    return rows;
  }

  /** Calls `f(split, firstRowInSplit, offsetInRange, rows)` for each piece of rows [start, start + count) in one split. */
  private eachSplit(start: number, count: number, f: (s: number, local: number, at: number, n: number) => void): void {
    const per = this.layout.rowsPerSplit;
    for (let r = 0; r < count; ) {
      const row = start + r;
      const s = Math.floor(row / per);
      const local = row - s * per;
      const n = Math.min(count - r, per - local);
      f(s, local, r, n);
      r += n;
    }
  }

  doWriteRows(start: number, rows: Float32Array): Promise<void> {
    return this.writeInto(this.buffers, start, rows);
  }

  /** Encodes rows with core's codec and writes them from row `start` into `buffers` (the table's, or a staged replacement). */
  private async writeInto(buffers: readonly GPUBuffer[], start: number, rows: Float32Array): Promise<void> {
    this.gpu.check('writeRows');
    const d = this.layout.outputDim;
    const count = d === 0 ? 0 : rows.length / d;
    const w = this.layout.rowWords;
    if (w === 0 || count === 0) return;
    const words = encodeRows(this.layout, rows);
    const close = this.gpu.guard('writeRows', words.byteLength);
    this.eachSplit(start, count, (s, local, at, n) => {
      this.gpu.device.queue.writeBuffer(buffers[s]!, local * w * 4, words as Uint32Array<ArrayBuffer>, at * w, n * w);
    });
    await close();
  }

  /**
   * `setWeights` as one switch: the new rows go into new buffers, and `commit` makes them the
   * table at once, so a lookup sees the old table or the new one, never a mix (the old buffers
   * are destroyed when the work already submitted on them is done). Takes a second table's
   * worth of GPU memory while it runs; Adagrad's accumulator is kept.
   */
  async doBeginReplace(): Promise<TableReplacementV2> {
    this.gpu.check('setWeights');
    const staged = await GpuTable.allocate(this.gpu, this.layout, 'replacement');
    let open = true;
    return {
      write: (start, rows) => this.writeInto(staged, start, rows),
      commit: () => {
        this.gpu.check('setWeights');
        const old = this.buffers;
        this.buffers = staged;
        open = false;
        this.gpu.release(old);
      },
      abort: () => {
        if (!open) return;
        open = false;
        for (const b of staged) b.destroy();
      },
    };
  }

  async doScatterAdd(rows: Int32Array, deltas: Float32Array): Promise<void> {
    this.gpu.check('training step');
    const d = this.layout.outputDim;
    if (rows.length === 0 || d === 0) return;
    if (this.layout.storage === 'float32') {
      await this.scatter('scatterAdd', rows, d, deltas);
      return;
    }
    // Quantized rows: read the stored words, decode, add and encode again with core's codec on
    // the CPU (int8 rescales the row, exactly as every backend does), then scatter them.
    const w = this.layout.rowWords;
    const bytes = rows.length * w * 4;
    const close = this.gpu.guard('training step', bytes);
    const gathered = this.encodeGather(rows, 'float32', w, GPUBufferUsage.COPY_SRC);
    const reading = this.gpu.readBack(
      gathered.encoder,
      bytes,
      'training step',
      (staging) => gathered.encoder.copyBufferToBuffer(gathered.out, 0, staging, 0, bytes),
      (mapped) => decodeRows(this.layout, new Uint32Array(mapped, 0, rows.length * w), rows.length),
    );
    let current: Float32Array;
    try {
      [, current] = await Promise.all([close(), reading]);
    } finally {
      this.gpu.release([gathered.out, ...gathered.temps]);
    }
    for (let i = 0; i < current.length; i++) current[i] = current[i]! + deltas[i]!;
    await this.scatter('scatterRows', rows, w, encodeRows(this.layout, current));
  }

  /**
   * Runs a kernel over distinct `rows` with `values` (d per row) in one compute pass, binding
   * per split `[rows, values, table, ...extra(split)]`, and waits for it.
   */
  private async scatter(
    kernel: Kernel,
    rows: Int32Array,
    d: number,
    values: Float32Array | Uint32Array,
    args: { lr?: number; eps?: number } = {},
    extra: (split: number) => GPUBuffer[] = () => [],
  ): Promise<void> {
    const gpu = this.gpu;
    const close = gpu.guard('training step', values.byteLength);
    const rowBuffer = gpu.upload(rows, 'embedding-layer rows');
    const valueBuffer = gpu.upload(values, 'embedding-layer values');
    const encoder = gpu.device.createCommandEncoder({ label: `embedding-layer ${kernel}` });
    const splits = this.splitsOf(rows, d, (table) => [rowBuffer, valueBuffer, table]).map((s) => ({
      ...s,
      buffers: [...s.buffers, ...extra(s.index)],
    }));
    const uniforms = gpu.dispatch(encoder, kernel, rows.length * d, splits, args);
    gpu.device.queue.submit([encoder.finish()]);
    gpu.release([rowBuffer, valueBuffer, uniforms]);
    const done = gpu.device.queue.onSubmittedWorkDone().catch((error: unknown) => gpu.failure('training step', error));
    await Promise.all([close(), done]);
    gpu.check('training step');
  }

  /**
   * One step of SGD (no momentum) or Adagrad on the GPU for float32 tables
   * (`supports.optimizers`): the gradients go up as float32, the kernel updates the distinct
   * rows in place, Adagrad's accumulator stays on the GPU beside the rows (it belongs to the
   * table: a new `compile` keeps it).
   */
  async doApplyOptimizer(rows: Int32Array, gradients: Float64Array, optimizer: KerasObject): Promise<void> {
    this.gpu.check('training step');
    const gpu = this.gpu;
    const d = this.layout.outputDim;
    const config = optimizer.config as { learning_rate: number; epsilon?: number; initial_accumulator_value?: number };
    const adagrad = optimizer.className === 'Adagrad';
    if (adagrad && this.accumulators === null) {
      // Filled with the initial value a chunk of rows at a time, through the queue.
      const close = gpu.guard('training step', this.storedBytes);
      this.accumulators = this.buffers.map((b, s) =>
        gpu.buffer(b.size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, `embedding-layer adagrad split ${s}`),
      );
      const fill = new Float32Array(Math.min(2 ** 22, Math.max(1, this.layout.rowsPerSplit * d))).fill(
        config.initial_accumulator_value ?? 0,
      );
      for (const acc of this.accumulators) {
        for (let at = 0; at < acc.size / 4; at += fill.length) {
          gpu.device.queue.writeBuffer(acc, at * 4, fill, 0, Math.min(fill.length, acc.size / 4 - at));
        }
      }
      await close();
    }
    if (rows.length === 0 || d === 0) return;
    const accumulators = this.accumulators;
    await this.scatter(
      adagrad ? 'adagrad' : 'sgd',
      rows,
      d,
      Float32Array.from(gradients),
      { lr: config.learning_rate, eps: config.epsilon ?? 0 },
      adagrad ? (split) => [accumulators![split]!] : undefined,
    );
  }

  doDescribe(): TableDescription {
    return {
      path: 'webgpu',
      splits: this.layout.splits,
      rowsPerSplit: this.layout.rowsPerSplit,
      storedBytes: this.storedBytes,
    };
  }

  doDispose(): void {
    for (const b of [...this.buffers, ...(this.accumulators ?? [])]) b.destroy();
    this.buffers = [];
    this.accumulators = null;
  }
}
