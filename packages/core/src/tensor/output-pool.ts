import type { EmbeddingOutput } from './types.js';

/** Bytes of given-back outputs a layer keeps for reuse, in all. */
export const OUTPUT_POOL_BYTES = 64 * 2 ** 20;
/** Given-back outputs a layer keeps for reuse. */
const OUTPUT_POOL_COUNT = 4;

/**
 * Moves `buffer`'s memory to a new ArrayBuffer, detaching `buffer` (every view of it becomes
 * length 0), without copying: `ArrayBuffer.prototype.transfer` where the runtime has it (Node
 * 22, current browsers), else `structuredClone` with a transfer list (1.6-2.9 µs a call on Node
 * 20, the larger part of what separates a disposed fresh output from one into a buffer at
 * 320 x 64). Null where the runtime cannot (neither exists, a non-transferable buffer).
 */
function detach(buffer: ArrayBuffer): ArrayBuffer | null {
  const transfer = (buffer as { transfer?: () => ArrayBuffer }).transfer;
  if (typeof structuredClone !== 'function' && typeof transfer !== 'function') return null;
  try {
    if (typeof transfer === 'function') return transfer.call(buffer);
    return structuredClone(buffer, { transfer: [buffer] });
  } catch {
    return null;
  }
}

/**
 * The fresh outputs a layer's users gave back with `dispose()`, reused by the next fresh output
 * of the same size (PyTorch's caching allocator hands a freed tensor's block to the next one):
 * a reused buffer is still in cache, where a new one is cold memory V8 zero-fills and frees only
 * at a later GC. A disposed output's ArrayBuffer is detached from the user (its views become
 * length 0), so a use after dispose reads nothing rather than another lookup's rows. At most
 * {@link OUTPUT_POOL_COUNT} buffers and {@link OUTPUT_POOL_BYTES} bytes are kept, plus the one
 * output larger than that given back last, which the next fresh lookup takes when it has that
 * size and drops otherwise (a loop of large lookups then reuses warm pages instead of faulting
 * in 0.5-1 GB per call, as torch does; the memory stays held no longer than until the next
 * lookup or `layer.dispose()`).
 */
export class OutputPool {
  private free: ArrayBuffer[] = [];
  /** The last given-back output larger than {@link OUTPUT_POOL_BYTES}, kept only until the next fresh lookup. */
  private large: ArrayBuffer | null = null;
  private bytes = 0;
  private closed = false;

  /**
   * A given-back buffer of exactly `length` floats (its old values still in it), or null. The
   * one large buffer (see {@link disposable}) is dropped here when it is not of this size.
   */
  take(length: number): Float32Array | null {
    const byteLength = length * 4;
    const large = this.large;
    if (large !== null) {
      this.large = null;
      if (large.byteLength === byteLength) return new Float32Array(large);
    }
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const buffer = free[i]!;
      if (buffer.byteLength === byteLength) {
        free.splice(i, 1);
        this.bytes -= byteLength;
        return new Float32Array(buffer);
      }
    }
    return null;
  }

  /**
   * `output` with a `dispose()` that gives its memory back: detached from the user's views and
   * kept for the next output of its size when it is a whole, non-shared ArrayBuffer and the pool
   * has room (otherwise detached where possible and left to the garbage collector). A second
   * `dispose()` does nothing.
   */
  disposable(output: EmbeddingOutput): EmbeddingOutput {
    let done = false;
    const dispose = (): void => {
      if (done) return;
      done = true;
      const data = output.data;
      const buffer = data.buffer;
      if (!(buffer instanceof ArrayBuffer) || data.byteOffset !== 0 || data.byteLength !== buffer.byteLength) return;
      const moved = detach(buffer);
      if (moved === null || this.closed) return;
      if (moved.byteLength > OUTPUT_POOL_BYTES) {
        this.large = moved;
        return;
      }
      if (this.free.length >= OUTPUT_POOL_COUNT || this.bytes + moved.byteLength > OUTPUT_POOL_BYTES) return;
      this.free.push(moved);
      this.bytes += moved.byteLength;
    };
    return { data: output.data, shape: output.shape, dispose };
  }

  /** Drops every kept buffer; later `dispose()` calls only detach. */
  close(): void {
    this.closed = true;
    this.free = [];
    this.large = null;
    this.bytes = 0;
  }
}
