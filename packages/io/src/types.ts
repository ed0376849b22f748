import type { EmbeddingConfig, ResolvedEmbeddingConfig } from '@embedding-layer/core';

/**
 * The six model-file formats this package reads and writes.
 *
 * - `keras-h5`: Keras 2 HDF5 (`model.save('m.h5')` or `model.save_weights('w.h5')`).
 * - `keras`: Keras 3 `.keras` zip (`config.json`, `metadata.json`, `model.weights.h5`).
 * - `tfjs`: TensorFlow.js layers model (`model.json` + binary weight shards).
 * - `onnx`: ONNX model whose embedding is a `Gather` over an initializer.
 * - `npy`: NumPy `.npy` array (the matrix only).
 * - `safetensors`: Hugging Face safetensors (one or more matrices, plus string metadata).
 */
export type ModelFormat = 'keras-h5' | 'keras' | 'tfjs' | 'onnx' | 'npy' | 'safetensors';

/** Every {@link ModelFormat}, in a stable order (for help texts and error messages). */
export const MODEL_FORMATS: readonly ModelFormat[] = ['keras-h5', 'keras', 'tfjs', 'onnx', 'npy', 'safetensors'];

/** Element type of the matrix as stored in the file, before it is widened to float32. */
export type StoredDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'uint8' | 'uint16' | 'int8' | 'int4';

/**
 * One Embedding layer read from a model file: its config (as a layer config for
 * `Embedding.create`), its weights and where they came from.
 */
export interface EmbeddingRecord {
  /** Layer name (from the model config, or derived from the tensor name when the file has no config). */
  readonly name: string;
  /** Config for `Embedding.create(config, ...)`: read from the file, with the caller's overrides. */
  readonly config: EmbeddingConfig;
  /** Row-major (inputDim, outputDim) matrix, widened to float32 exactly (float64 is rounded to nearest). */
  readonly weights: Float32Array;
  /** Number of rows (`input_dim`). */
  readonly inputDim: number;
  /** Number of columns (`output_dim`). */
  readonly outputDim: number;
  /** Format of the file it came from. */
  readonly format: ModelFormat;
  /** Where the matrix sits inside the file (HDF5 dataset path, manifest weight name, initializer or tensor name). */
  readonly location: string;
  /** Element type in the file. */
  readonly storedDtype: StoredDtype;
  /** Bytes the matrix occupies in the file. */
  readonly storedBytes: number;
  /**
   * The layer config exactly as the file spells it (Keras 2, Keras 3 or TF.js dialect), or null
   * when the file holds no config (weights-only .h5, .npy, ONNX, safetensors without our metadata).
   */
  readonly sourceConfig: Readonly<Record<string, unknown>> | null;
  /** Legacy values that were normalized on reading (e.g. TF 1.x `dtype: 'int32'`), one sentence each. */
  readonly notes: readonly string[];
}

/** What every writer needs: a resolved config and the row-major float32 matrix. */
export interface EmbeddingData {
  /** A resolved config (`layer.config`, or `resolveConfig(...)`). */
  readonly config: ResolvedEmbeddingConfig;
  /** Row-major (inputDim, outputDim) float32 matrix. */
  readonly weights: Float32Array;
}

/** Progress callback: `done` of `total` units (bytes) of the current step. */
export type ProgressCallback = (done: number, total: number) => void;
