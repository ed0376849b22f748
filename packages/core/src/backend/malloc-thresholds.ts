/**
 * glibc's ceiling for its dynamic mmap threshold on 64-bit (`DEFAULT_MMAP_THRESHOLD_MAX`,
 * 32 MiB), less 64 KiB so that the block (request, chunk header, page rounding) stays under it.
 */
export const MALLOC_PRIMER_BYTES = 32 * 2 ** 20 - 2 ** 16;

let primed = false;

/**
 * Raises glibc malloc's dynamic thresholds, once per process, by allocating one untouched
 * {@link MALLOC_PRIMER_BYTES} ArrayBuffer and dropping it. Returns whether it did (false after
 * the first call, and off Linux). For backends whose fresh outputs are new ArrayBuffers
 * (adapter-js, adapter-tfjs on cpu, onnxruntime-node's copies), which Node allocates with
 * `calloc`; moved here from adapter-onnx, which found it.
 *
 * Why: glibc starts with a 128 KiB mmap threshold and a trim threshold of twice the largest
 * mmap'd block freed so far. In a process that never freed a block larger than one output, a
 * GC that frees two or more outputs at once leaves more than the trim threshold free at the top
 * of the heap; glibc returns it to the kernel, and the next calls fault every page of their
 * output in again: at 8 MiB outputs about 1,100-2,000 page faults and several ms of system time
 * per call (adapter-js at 50,000 x 128 with 16,384 indices: 6.0 ms of CPU per fresh lookup and
 * 1,140 faults, against 3.4 ms and 22 faults primed; `bench/profile/dispose-layer-probe.mjs`).
 * A process that freed a larger block keeps those pages. Freeing one mmap'd block just under
 * 32 MiB puts the process in that state: glibc then serves blocks up to 32 MiB from the heap
 * and trims only past 64 MiB free. The primer is never written, so it costs an `mmap` and a
 * `munmap`, no resident memory. Elsewhere (musl, macOS, Windows, browsers) it is harmless or
 * skipped.
 */
export function raiseMallocThresholds(): boolean {
  if (primed) return false;
  const proc = (globalThis as { process?: { platform?: string } }).process;
  if (typeof proc !== 'object' || proc === null || proc.platform !== 'linux') return false;
  primed = true;
  // Dropped at once: glibc sees the free (and raises its thresholds) when V8 collects it.
  new ArrayBuffer(MALLOC_PRIMER_BYTES);
  return true;
}
