#!/usr/bin/env python3
"""Vectors for core's int8 codec test (src/storage/quantize.test.ts), from Keras 3's own formula.

keras/src/quantizers/quantizers.py:

    def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8",
                         epsilon=backend.epsilon(), to_numpy=False):
        scale = ops.divide(value_range[1],
                           ops.add(ops.max(ops.abs(inputs), axis=axis, keepdims=True), epsilon))
        outputs = ops.multiply(inputs, scale)
        outputs = ops.clip(ops.round(outputs), value_range[0], value_range[1])
        outputs = ops.cast(outputs, dtype)
        return outputs, scale

Embedding.quantize("int8") calls it with axis=-1 and squeezes the scale; the quantized call
dequantizes as ops.divide(ops.cast(q, "float32"), ops.expand_dims(scale, -1)). Python floats
are weak types in Keras 3, so every step is float32; this script does the same in NumPy.
Run: python3 packages/core/scripts/keras_int8_vectors.py > vectors.json
"""
import json

import numpy as np

EPSILON = 1e-7  # keras.config.epsilon()


def abs_max_quantize(inputs):
    inputs = np.asarray(inputs, dtype=np.float32)
    denom = np.add(np.max(np.abs(inputs), axis=-1, keepdims=True), np.float32(EPSILON), dtype=np.float32)
    scale = np.divide(np.float32(127), denom, dtype=np.float32)
    outputs = np.multiply(inputs, scale, dtype=np.float32)
    outputs = np.clip(np.round(outputs), -127, 127).astype(np.int8)
    return outputs, scale.squeeze(-1)


def dequantize(q, scale):
    return np.divide(q.astype(np.float32), scale[:, None], dtype=np.float32)


rng = np.random.default_rng(20240611)
rows = [
    [1.0, -0.5, 0.25, 0.0],
    [127.0, 0.5, 1.5, -2.5],
    [0.0, 0.0, 0.0, 0.0],
    [1e-8, -3e-8, 2e-9, 0.0],
    [0.003937, -0.001968, 0.0, 0.5],
    [65504.0, -1.0, 0.1, 3.0],
]
rows += (rng.standard_normal((10, 4)) * rng.choice([1e-3, 0.05, 1.0, 30.0], size=(10, 1))).tolist()
w = np.asarray(rows, dtype=np.float32)
q, scale = abs_max_quantize(w)
back = dequantize(q, scale)
bits = lambda a: [format(int(x), '08x') for x in np.asarray(a, np.float32).view(np.uint32).ravel()]
print(json.dumps({"weights": bits(w), "q": q.ravel().tolist(), "scales": bits(scale), "dequantized": bits(back)}))
