import type { ResolvedEmbeddingConfig } from '../../config/embedding-config.js';
import type { EmbeddingOutput, IndexTensor, MaskTensor } from '../../tensor/types.js';

/**
 * What a backend can do, as data (absent means false). The conformance suite reads this
 * manifest and skips, visibly, the groups a backend does not support; an unsupported call
 * must reject with `UnsupportedFeatureError` (core does that before any hook runs).
 */
export interface BackendCapabilitiesV1 {
  /** `applyGradients` (and the training API built on it): the backend implements `doScatterAdd`. */
  readonly training?: boolean;
  /** The backend computes masks natively (`doComputeMask`); otherwise core computes them. */
  readonly nativeMask?: boolean;
  /** Weight dtypes the backend holds. v1 layers are float32. */
  readonly dtypes?: readonly string[];
  /** Largest table, in bytes, the backend can hold; core refuses bigger layers before allocating. */
  readonly maxTableBytes?: number;
  /** `doLookup` writes into a caller's Float32Array (`predict(x, { out })`) without an intermediate copy. */
  readonly lookupInto?: boolean;
  /** Export formats the backend's layers offer (e.g. `'onnx'`). */
  readonly export?: readonly string[];
}

/**
 * One layer's table living in a backend. Created by {@link EmbeddingBackendV1.doCreateTable}.
 * Core validates every argument before it calls a hook: hooks never repeat a check.
 * Methods are `do`-prefixed so users do not call them by accident; they call `Embedding`.
 */
export interface EmbeddingTableV1 {
  /**
   * Gathers rows: output[..., :] = table[indices[...], :], shape `[...indices.shape, outputDim]`.
   * Indices are already validated (int32, in range). When `out` is given (only if
   * `supports.lookupInto`), write the rows into it (its length is already checked) and return
   * it as the output's data.
   */
  doLookup(indices: IndexTensor, out?: Float32Array): EmbeddingOutput | Promise<EmbeddingOutput>;
  /** The table, row-major (input_dim * output_dim). Core copies it before handing it to users. */
  doGetWeights(): Float32Array;
  /**
   * Replaces the table. `weights` is a validated fresh copy of the right length that the
   * backend may keep. Must be atomic: if it throws, the old table must still work.
   */
  doSetWeights(weights: Float32Array): void;
  /** Optional native mask (`indices != 0`); when absent core computes it. Only called when mask_zero. */
  doComputeMask?(indices: IndexTensor): MaskTensor;
  /**
   * Adds `deltas` (rows.length x output_dim, row-major) to the given distinct rows, in place:
   * table[rows[k], :] += deltas[k, :]. Required when `supports.training`.
   */
  doScatterAdd?(rows: Int32Array, deltas: Float32Array): void;
  /**
   * Serializes the layer in one of the formats listed in `supports.export` (e.g. `'onnx'`
   * model bytes). Required when `supports.export` is non-empty.
   */
  doExport?(format: string): Uint8Array | Promise<Uint8Array>;
  /** Releases the backend's resources (tensors, sessions). Called once. */
  doDispose(): void | Promise<void>;
}

/**
 * The backend contract, version 1. `specificationVersion` lets core tell spec versions apart
 * (a discriminated union when v2 arrives). Implement it and pass it as `{ backend }` to
 * `Embedding.create`.
 */
export interface EmbeddingBackendV1 {
  /** Always `'v1'`. */
  readonly specificationVersion: 'v1';
  /** Short name shown in errors and reports, e.g. `'js'`, `'tfjs-cpu'`. */
  readonly name: string;
  /** The capability manifest. */
  readonly supports: BackendCapabilitiesV1;
  /**
   * Creates a table for a validated config, filled with `weights` (a fresh row-major
   * Float32Array of input_dim * output_dim that the backend may keep).
   */
  doCreateTable(config: ResolvedEmbeddingConfig, weights: Float32Array): EmbeddingTableV1 | Promise<EmbeddingTableV1>;
}
