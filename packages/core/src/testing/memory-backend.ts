// Test helpers for core's own tests (not exported from the package): a plain in-memory v2
// backend, so that core's tests need no adapter, and seeded indices.
import { defineBackend } from '../backend/define-backend.js';
import { Xoshiro128 } from '../random/prng.js';
import type { EmbeddingBackendV2, EmbeddingTableV2 } from '../spec/v2/embedding-backend-v2.js';
import { readAllRows } from '../tensor/rows.js';

/** A float32 table in one Float32Array: lookups copy rows, training adds deltas in float32 (as every in-memory backend does). */
export function createMemoryBackend(): EmbeddingBackendV2 {
  return defineBackend({
    name: 'memory',
    supports: { training: true },
    async doCreateTable(config, initial): Promise<EmbeddingTableV2> {
      const d = config.outputDim;
      // A caller's shared table is kept as it is (RowSource.shared), as adapter-onnx does.
      const w = initial.shared ?? (await readAllRows(initial));
      return {
        doLookup(indices) {
          const data = new Float32Array(indices.data.length * d);
          for (let i = 0; i < indices.data.length; i++) {
            const row = indices.data[i]!;
            data.set(w.subarray(row * d, (row + 1) * d), i * d);
          }
          return { data, shape: [...indices.shape, d] };
        },
        doReadRows: (start, count) => w.slice(start * d, (start + count) * d),
        doWriteRows: (start, rows) => {
          w.set(rows, start * d);
        },
        doScatterAdd(rows, deltas) {
          for (let k = 0; k < rows.length; k++) {
            const base = rows[k]! * d;
            for (let c = 0; c < d; c++) w[base + c] = w[base + c]! + deltas[k * d + c]!;
          }
        },
        doDescribe: () => ({ sharesWeights: w === initial.shared }),
        doDispose: () => undefined,
      };
    },
  });
}

/** Seeded indices in [0, inputDim): floor(u * inputDim) with core's generator (as the conformance fixtures draw them). */
export function randomIndices(seed: number, count: number, inputDim: number): Int32Array {
  const rng = new Xoshiro128(seed);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(rng.nextFloat64() * inputDim);
  return out;
}
