/**
 * glibc's ceiling for its dynamic mmap threshold on 64-bit (`DEFAULT_MMAP_THRESHOLD_MAX`,
 * 32 MiB), less 64 KiB so that the block (request, chunk header, page rounding) stays under it.
 */
export const MALLOC_PRIMER_BYTES = 32 * 2 ** 20 - 2 ** 16;

let primed = false;

/**
 * @internal Raises glibc malloc's dynamic thresholds, once per process, by allocating one
 * untouched {@link MALLOC_PRIMER_BYTES} ArrayBuffer and dropping it. Returns whether it did
 * (false after the first call, and off Linux).
 *
 * Why: onnxruntime-node (1.30) hands every output to JavaScript as a new ArrayBuffer it copies
 * into (also when the caller preallocated the output), which Node allocates with `calloc`.
 * glibc starts with a 128 KiB mmap threshold and a trim threshold of twice the largest mmap'd
 * block freed so far. In a process that never freed a block larger than one output, a GC that
 * frees two or more outputs at once leaves more than the trim threshold free at the top of the
 * heap; glibc returns it to the kernel, and the next calls fault every page of their output in
 * again: at 8 MiB outputs about 2,000 page faults and 5 ms of system time per call, 3x the
 * run itself. A process that freed a larger block (the bare-session peer frees its 25 MB
 * model bytes; any session built from a model holding its weights does) keeps those pages.
 * Freeing one mmap'd block just under 32 MiB puts the process in that state: glibc then serves
 * blocks up to 32 MiB from the heap and trims only past 64 MiB free. The primer is never
 * written, so it costs an `mmap` and a `munmap`, no resident memory. Elsewhere (musl, macOS,
 * Windows) the allocation is harmless.
 */
export function raiseMallocThresholds(): boolean {
  if (primed) return false;
  if (typeof process !== 'object' || process === null || process.platform !== 'linux') return false;
  primed = true;
  // Dropped at once: glibc sees the free (and raises its thresholds) when V8 collects it.
  new ArrayBuffer(MALLOC_PRIMER_BYTES);
  return true;
}
