import type {
  EmbeddingOutput,
  EmbeddingTableV2,
  IndexTensor,
  ResolvedEmbeddingConfig,
  RowSource,
  TableDescription,
} from '@embedding-layer/core';
import {
  copySourceRows,
  halfToFloatTable,
  int4At,
  int4RowBytes,
  packInt4Row,
  quantizeRowInt4,
  quantizeRowInt8,
  toHalf,
} from '@embedding-layer/core/backend';
import { STORAGE_BYTES, type Storage } from './storage.js';

/** Largest length of one typed array on Node 20 (V8 11): 2^32 - 1 elements. */
export const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

type Shard = Float32Array | Uint16Array | Int8Array;

/**
 * A table held as row shards: shard k holds rows [k * shardRows, (k + 1) * shardRows), each
 * shard its own ArrayBuffer of at most `shardBytes` (one row at least), so the table is not
 * bounded by the largest ArrayBuffer. Values are stored as float32, float16, int8 or int4 (the
 * quantized ones with a float32 scale per row; int4 rows packed as Keras 3's `pack_int4`). A lookup copies one row per index: `TypedArray.set` for float32,
 * a decoding loop otherwise. This is also the plain-JS fallback (one shard) where
 * WebAssembly is unavailable.
 */
export class ShardedTable implements EmbeddingTableV2 {
  readonly rows: number;
  readonly outputDim: number;
  readonly storage: Storage;
  /** Rows per shard. */
  readonly shardRows: number;
  private shards: Shard[];
  /** int8, int4: the float32 scale of each row (dequantized value = q / scale). */
  private scales: Float32Array | null;
  /** Stored elements per row: outputDim, or int4's packed bytes. */
  private readonly rowLength: number;
  /** int4: one unpacked row, reused by writes. */
  private readonly nibbles: Int8Array | null;

  private constructor(config: ResolvedEmbeddingConfig, storage: Storage, shardBytes: number) {
    this.rows = config.inputDim;
    this.outputDim = config.outputDim;
    this.storage = storage;
    this.rowLength = storage === 'int4' ? int4RowBytes(this.outputDim) : this.outputDim;
    this.nibbles = storage === 'int4' ? new Int8Array(this.outputDim) : null;
    const rowBytes = Math.max(1, storage === 'int4' ? this.rowLength : this.outputDim * STORAGE_BYTES[storage]);
    const maxRowsPerArray = this.outputDim === 0 ? this.rows : Math.floor(MAX_ARRAY_LENGTH / this.outputDim);
    this.shardRows = Math.max(1, Math.min(maxRowsPerArray, Math.floor(shardBytes / rowBytes), this.rows));
    this.shards = this.allocate();
    this.scales = storage === 'int8' || storage === 'int4' ? new Float32Array(this.rows) : null;
  }

  /** A table filled from `initial`, a chunk of rows at a time (no second copy of the whole table). */
  static async create(config: ResolvedEmbeddingConfig, initial: RowSource, storage: Storage, shardBytes: number): Promise<ShardedTable> {
    const table = new ShardedTable(config, storage, shardBytes);
    await copySourceRows(initial, (start, rows) => table.writeRows(start, rows));
    return table;
  }

  /** Number of shards. */
  get shardCount(): number {
    return this.shards.length;
  }

  /** Bytes held: the shards, plus int8's and int4's row scales. */
  get storedBytes(): number {
    let bytes = this.scales?.byteLength ?? 0;
    for (const shard of this.shards) bytes += shard.byteLength;
    return bytes;
  }

  /** Empty (zero) shards for the whole table. */
  private allocate(): Shard[] {
    const d = this.rowLength;
    const shards: Shard[] = [];
    for (let r = 0; r < this.rows; r += this.shardRows) {
      const n = Math.min(this.shardRows, this.rows - r) * d;
      shards.push(this.storage === 'float32' ? new Float32Array(n) : this.storage === 'float16' ? new Uint16Array(n) : new Int8Array(n));
    }
    if (shards.length === 0) shards.push(new Float32Array(0));
    return shards;
  }

  doLookup(indices: IndexTensor, into?: Float32Array): EmbeddingOutput {
    const d = this.outputDim;
    const ids = indices.data;
    const out = into ?? new Float32Array(ids.length * d);
    const shardRows = this.shardRows;
    const shards = this.shards;
    if (this.storage === 'float32') {
      if (shards.length === 1) {
        const table = shards[0] as Float32Array;
        for (let i = 0; i < ids.length; i++) {
          const start = ids[i]! * d;
          out.set(table.subarray(start, start + d), i * d);
        }
      } else {
        for (let i = 0; i < ids.length; i++) {
          const row = ids[i]!;
          const k = Math.floor(row / shardRows);
          const start = (row - k * shardRows) * d;
          out.set((shards[k] as Float32Array).subarray(start, start + d), i * d);
        }
      }
    } else {
      for (let i = 0; i < ids.length; i++) this.readRow(ids[i]!, out, i * d);
    }
    return { data: out, shape: [...indices.shape, d] };
  }

  /** Writes row `row`, as float32, into out[at, at + outputDim). */
  readRow(row: number, out: Float32Array, at: number): void {
    const d = this.outputDim;
    const k = Math.floor(row / this.shardRows);
    const start = (row - k * this.shardRows) * d;
    const shard = this.shards[k]!;
    if (this.storage === 'float32') out.set((shard as Float32Array).subarray(start, start + d), at);
    else if (this.storage === 'float16') {
      const t = halfToFloatTable();
      for (let c = 0; c < d; c++) out[at + c] = t[shard[start + c]!]!;
    } else if (this.storage === 'int4') {
      const scale = this.scales![row]!;
      const base = (row - k * this.shardRows) * this.rowLength;
      // Two values a byte: low nibble first (Keras 3's unpack_int4: (n ^ 8) - 8).
      const whole = d >> 1;
      for (let b = 0; b < whole; b++) {
        const byte = shard[base + b]!;
        out[at + 2 * b] = (((byte & 15) ^ 8) - 8) / scale;
        out[at + 2 * b + 1] = ((((byte >> 4) & 15) ^ 8) - 8) / scale;
      }
      if (d & 1) out[at + d - 1] = int4At(shard as Int8Array, base, d - 1) / scale;
    } else {
      const scale = this.scales![row]!;
      for (let c = 0; c < d; c++) out[at + c] = shard[start + c]! / scale;
    }
  }

  /** Rows [start, start + count) as row-major float32 (dequantized), into `out` when given. */
  readRows(start: number, count: number, out: Float32Array = new Float32Array(count * this.outputDim)): Float32Array {
    const d = this.outputDim;
    if (this.storage === 'float32') {
      // One copy per shard the range touches.
      for (let r = 0; r < count; ) {
        const row = start + r;
        const k = Math.floor(row / this.shardRows);
        const first = row - k * this.shardRows;
        const n = Math.min(count - r, this.shardRows - first);
        out.set((this.shards[k] as Float32Array).subarray(first * d, (first + n) * d), r * d);
        r += n;
      }
      return out;
    }
    for (let r = 0; r < count; r++) this.readRow(start + r, out, r * d);
    return out;
  }

  /** Stores rows [start, start + values.length / outputDim) from row-major float32 `values`. */
  writeRows(start: number, values: Float32Array): void {
    const d = this.outputDim;
    const count = d === 0 ? 0 : values.length / d;
    if (this.storage === 'float32') {
      for (let r = 0; r < count; ) {
        const row = start + r;
        const k = Math.floor(row / this.shardRows);
        const first = row - k * this.shardRows;
        const n = Math.min(count - r, this.shardRows - first);
        (this.shards[k] as Float32Array).set(values.subarray(r * d, (r + n) * d), first * d);
        r += n;
      }
      return;
    }
    for (let r = 0; r < count; r++) this.writeRow(start + r, values, r * d);
  }

  private writeRow(row: number, values: Float32Array, from: number): void {
    const d = this.outputDim;
    const k = Math.floor(row / this.shardRows);
    const start = (row - k * this.shardRows) * d;
    const shard = this.shards[k]!;
    if (this.storage === 'float32') (shard as Float32Array).set(values.subarray(from, from + d), start);
    else if (this.storage === 'float16') {
      for (let c = 0; c < d; c++) shard[start + c] = toHalf(values[from + c]!);
    } else if (this.storage === 'int4') {
      this.scales![row] = quantizeRowInt4(values, from, d, this.nibbles!, 0);
      packInt4Row(this.nibbles!, 0, d, shard as Int8Array, (row - k * this.shardRows) * this.rowLength);
    } else this.scales![row] = quantizeRowInt8(values, from, d, shard as Int8Array, start);
  }

  doReadRows(start: number, count: number): Float32Array {
    return this.readRows(start, count);
  }

  doWriteRows(start: number, rows: Float32Array): void {
    this.writeRows(start, rows);
  }

  doDescribe(): TableDescription {
    return {
      path: this.shardCount > 1 ? 'sharded' : 'js',
      shardCount: this.shardCount,
      shardRows: this.shardRows,
      storedBytes: this.storedBytes,
    };
  }

  doScatterAdd(rows: Int32Array, deltas: Float32Array): void {
    const d = this.outputDim;
    if (this.storage === 'float32') {
      for (let k = 0; k < rows.length; k++) {
        const row = rows[k]!;
        const s = Math.floor(row / this.shardRows);
        const w = this.shards[s] as Float32Array;
        const base = (row - s * this.shardRows) * d;
        const src = k * d;
        for (let c = 0; c < d; c++) w[base + c] = w[base + c]! + deltas[src + c]!;
      }
      return;
    }
    // Quantized storage: dequantize the row, add in float32, store again (int8 and int4 rescale the row).
    const row32 = new Float32Array(d);
    for (let k = 0; k < rows.length; k++) {
      this.readRow(rows[k]!, row32, 0);
      for (let c = 0; c < d; c++) row32[c] = row32[c]! + deltas[k * d + c]!;
      this.writeRow(rows[k]!, row32, 0);
    }
  }

  doDispose(): void {
    this.shards = [new Float32Array(0)];
    this.scales = null;
  }
}
