import type { EmbeddingOutput, EmbeddingTableV1, IndexTensor, ResolvedEmbeddingConfig } from '@embedding-layer/core';
import type * as tfjs from '@tensorflow/tfjs';
import type { TfjsRuntime } from './runtime.js';

/**
 * One layer's table on TF.js: a single `tf.Variable` of shape (inputDim, outputDim), float32.
 * Core validates every argument before a hook runs, so the hooks only move data.
 */
export class TfjsTable implements EmbeddingTableV1 {
  /** The TF.js module the variable belongs to. */
  readonly tf: TfjsRuntime;
  /** The table. Replaced (never mutated in place) by `assign`; null after dispose. */
  variable: tfjs.Variable | null;
  private readonly inputDim: number;
  private readonly outputDim: number;

  constructor(tf: TfjsRuntime, config: ResolvedEmbeddingConfig, weights: Float32Array) {
    this.tf = tf;
    this.inputDim = config.inputDim;
    this.outputDim = config.outputDim;
    // trainable=false: the variable is updated by doScatterAdd, never by TF.js optimizers' global search.
    this.variable = tf.tidy(() => tf.variable(this.matrix(weights), false));
  }

  private matrix(weights: Float32Array): tfjs.Tensor2D {
    return this.tf.tensor2d(weights, [this.inputDim, this.outputDim], 'float32');
  }

  /** The live variable; core never calls a hook after dispose. */
  live(): tfjs.Variable {
    if (this.variable === null) throw new Error('TfjsTable used after dispose (core should have prevented this).');
    return this.variable;
  }

  async doLookup(indices: IndexTensor): Promise<EmbeddingOutput> {
    const tf = this.tf;
    const variable = this.live();
    const out = tf.tidy(() => tf.gather(variable, tf.tensor1d(indices.data, 'int32')));
    try {
      const data = (await out.data()) as Float32Array;
      return { data, shape: [...indices.shape, this.outputDim] };
    } finally {
      out.dispose();
    }
  }

  doGetWeights(): Float32Array {
    return this.live().dataSync() as Float32Array;
  }

  doSetWeights(weights: Float32Array): void {
    const variable = this.live();
    const next = this.matrix(weights);
    try {
      variable.assign(next);
    } finally {
      next.dispose();
    }
  }

  doScatterAdd(rows: Int32Array, deltas: Float32Array): void {
    const tf = this.tf;
    const variable = this.live();
    const d = this.outputDim;
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
