/** Longest index array a layer keeps for reuse: 2^18 int32 values (1 MiB). */
const MAX_KEPT = 2 ** 18;

/**
 * The int32 copy of a lookup's validated indices (the copy core owns while the backend reads
 * it), reused by the layer's next lookup of the same length: a new Int32Array is an ArrayBuffer
 * allocation, which cost more than the copy itself at a few hundred indices (a profile of
 * `predict` at 320 indices: 1.6 µs of 10). A call that finds the array lent to another call
 * allocates its own. Backends must not keep indices after a lookup settles (spec v2 `doLookup`).
 */
export class IndexScratch {
  private kept: Int32Array | null = null;

  /** An Int32Array of exactly `length` values for one call (its old values still in it), until {@link give}. */
  readonly take = (length: number): Int32Array => {
    const kept = this.kept;
    if (kept !== null && kept.length === length) {
      this.kept = null;
      return kept;
    }
    return new Int32Array(length);
  };

  /** Gives back an array from {@link take} once the call that held it has settled. */
  give(array: Int32Array): void {
    if (array.length <= MAX_KEPT) this.kept = array;
  }
}
