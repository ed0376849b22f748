import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/embedding-config.js';
import { addRegularizerGradient, regularizerPenalty } from '../regularizers/penalty.js';
import { applyConstraint } from './project.js';

const constraint = (c: unknown) => resolveConfig({ inputDim: 2, outputDim: 2, embeddingsConstraint: c as never }).embeddingsConstraint!;
const regularizer = (r: unknown) => resolveConfig({ inputDim: 2, outputDim: 2, embeddingsRegularizer: r as never }).embeddingsRegularizer!;

describe('constraints (Keras formulas, eps = 1e-7)', () => {
  it('MaxNorm with axis 0 scales each column (over the vocabulary)', () => {
    const w = Float32Array.from([3, 0.6, 4, 0.8]); // columns: [3, 4] (norm 5), [0.6, 0.8] (norm 1)
    applyConstraint(constraint({ className: 'MaxNorm', config: { max_value: 2 } }), w, 2, 2);
    const want = [(3 * 2) / (5 + 1e-7), 0.6 / (1 + 1e-7), (4 * 2) / (5 + 1e-7), 0.8 / (1 + 1e-7)];
    for (const [i, v] of want.entries()) expect(w[i]).toBeCloseTo(v, 6);
  });

  it('UnitNorm with axis 1 normalises each embedding vector', () => {
    const w = Float32Array.from([3, 4, 0, 2]);
    applyConstraint(constraint({ className: 'UnitNorm', config: { axis: 1 } }), w, 2, 2);
    expect(Array.from(w)).toEqual(Array.from(Float32Array.from([3 / (5 + 1e-7), 4 / (5 + 1e-7), 0, 2 / (2 + 1e-7)])));
  });

  it('MinMaxNorm raises short columns to min_value', () => {
    const w = Float32Array.from([0.3, 0, 0.4, 0]);
    applyConstraint(constraint({ className: 'MinMaxNorm', config: { min_value: 1, max_value: 2 } }), w, 2, 2);
    expect(w[0]).toBeCloseTo(0.6, 6);
    expect(w[2]).toBeCloseTo(0.8, 6);
    expect(w[1]).toBe(0);
  });

  it('NonNeg zeroes negatives', () => {
    const w = Float32Array.from([-1, 2, -0.5, 0]);
    applyConstraint(constraint('non_neg'), w, 2, 2);
    expect(Array.from(w, (v) => v + 0)).toEqual([0, 2, 0, 0]);
  });
});

describe('regularizers', () => {
  it('penalty and gradient of L1L2', () => {
    const r = regularizer({ className: 'L1L2', config: { l1: 0.1, l2: 0.2 } });
    const x = [1, -2, 0, 3];
    expect(regularizerPenalty(r, x)).toBeCloseTo(0.1 * 6 + 0.2 * 14, 12);
    const g = new Float64Array(4);
    addRegularizerGradient(r, x, g);
    expect(Array.from(g)).toEqual([0.1 + 0.4, -0.1 - 0.8, 0, 0.1 + 1.2000000000000002]);
  });
});
