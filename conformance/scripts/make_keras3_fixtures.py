#!/usr/bin/env python3
"""Writes conformance/fixtures/keras3.json and packages/io/test/fixtures/keras3/int4.keras.

The reference for Keras 3's LoRA and int4/int8 Embedding, with the formulas of keras-team/keras
(3.16 snapshot) reproduced in NumPy, sharing no code with the TypeScript packages:

- keras/src/quantizers/quantizers.py `abs_max_quantize(x, axis=-1, value_range, to_numpy=True)`:
  scale = value_range[1] / (max|x| + epsilon) in float32 (epsilon = 1e-7, a Python float that
  NumPy applies as float32 to a float32 array), q = clip(round(x * scale)) (round half to even).
  int8: value_range (-127, 127); int4 (per-channel, `Int4QuantizationConfig(block_size=-1)`):
  (-8, 7). `pack_int4(q, axis=-1)`: value 2k in the low nibble, value 2k+1 in the high nibble of
  byte k, an odd row padded with 0. A lookup is cast(q, float32) / scale (float32).
- keras/src/layers/core/embedding.py LoRA: embeddings = E + (lora_alpha / lora_rank) * (A @ B);
  computed here in float64 and rounded once to float32 (Keras computes in float32: the suite's
  tolerance covers the difference). Training: loss mse = mean((y - t)^2) over every value
  (Keras's mean over the last axis, then over the batch); dL/dy = 2 (y - t) / N;
  dA[i] = s * dL/dy_i @ B^T summed over the lookups of row i; dB = s * sum_i A[idx_i]^T dL/dy_i;
  the table E is frozen. SGD: w -= learning_rate * g. All in float64.

Run with Debian's interpreter (numpy and h5py: apt-get install -y python3-h5py):
    /usr/bin/python3 conformance/scripts/make_keras3_fixtures.py
Regenerating gives byte-identical files.
"""
import io
import json
import os
import struct
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'keras3.json')
KERAS_OUT = os.path.join(HERE, '..', '..', 'packages', 'io', 'test', 'fixtures', 'keras3', 'int4.keras')
KERAS_GROUPED_OUT = os.path.join(HERE, '..', '..', 'packages', 'io', 'test', 'fixtures', 'keras3', 'int4-grouped.keras')
EPS = 1e-7


def hexes(a):
    """float32 values as big-endian hex bits (exact)."""
    return [struct.pack('>f', float(v)).hex() for v in np.asarray(a, dtype=np.float32).ravel()]


def nums(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def abs_max_quantize(x, lo, hi):
    """Keras 3's abs_max_quantize(x, axis=-1, value_range=(lo, hi), to_numpy=True) on a float32 array."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.divide(np.float32(hi), np.add(np.max(np.abs(x), axis=-1, keepdims=True), np.float32(EPS)))
    assert scale.dtype == np.float32
    q = np.clip(np.round(np.multiply(x, scale)), lo, hi).astype(np.int8)
    return q, scale[..., 0]


def pack_int4(q):
    """Keras 3's pack_int4(q, axis=-1)."""
    rows, n = q.shape
    if n % 2 == 1:
        q = np.concatenate([q, np.zeros((rows, 1), dtype=np.int8)], axis=1)
    low = np.bitwise_and(q[:, ::2], np.int8(0x0F))
    high = np.bitwise_and(q[:, 1::2], np.int8(0x0F))
    return np.bitwise_or(low, np.left_shift(high, np.int8(4))).astype(np.int8)


def unpack_int4(packed, n):
    low = np.bitwise_and(packed, np.int8(0x0F))
    high = np.bitwise_and(np.right_shift(packed, np.int8(4)), np.int8(0x0F))
    low = np.bitwise_xor(low, np.int8(8)) - np.int8(8)
    high = np.bitwise_xor(high, np.int8(8)) - np.int8(8)
    return np.stack([low, high], axis=-1).reshape(packed.shape[0], -1)[:, :n]


def dequantize(q, scale):
    return np.divide(q.astype(np.float32), scale[:, None].astype(np.float32)).astype(np.float32)


def table(rng, rows, cols, edge_rows=()):
    """float32 rows of mixed magnitudes, after the given edge rows."""
    out = [np.asarray(r, dtype=np.float32) for r in edge_rows]
    for r in range(rows - len(out)):
        mag = 10.0 ** rng.integers(-3, 2)
        out.append((rng.uniform(-1, 1, cols) * mag).astype(np.float32))
    return np.stack(out).astype(np.float32)


def quantize_case(case_id, mode, w, ids):
    rows, cols = w.shape
    if mode == 'int4':
        q, scale = abs_max_quantize(w, -8, 7)
        packed = pack_int4(q)
        assert np.array_equal(unpack_int4(packed, cols), q)
        stored = {'packed': [int(v) for v in packed.ravel()], 'packedShape': list(packed.shape)}
    else:
        q, scale = abs_max_quantize(w, -127, 127)
        stored = {'values': [int(v) for v in q.ravel()]}
    back = dequantize(q, scale)
    changed = int(np.sum(back != w))
    assert changed > 0, 'the case must show that quantization changes the values'
    out = back[np.asarray(ids)]
    return {
        'id': case_id,
        'mode': mode,
        'inputDim': rows,
        'outputDim': cols,
        'weights': hexes(w),
        'q': [int(v) for v in q.ravel()],
        **stored,
        'scales': hexes(scale),
        'dequantized': hexes(back),
        'indices': ids,
        'expected': {'shape': list(out.shape), 'data': hexes(out)},
        'note': f'{changed} of {w.size} values change under {mode} quantization',
    }


def lora_forward(E, A, B, alpha, rank, ids):
    s = alpha / rank
    merged = (E.astype(np.float64) + s * (A.astype(np.float64) @ B.astype(np.float64))).astype(np.float32)
    return merged, merged[np.asarray(ids)]


def grouped_int4_case(case_id, w, block):
    """Keras 3.14+'s default quantize("int4"): sub-channel, asymmetric, `block` columns a group
    (Embedding.quantize: abs_max_quantize_grouped_with_zero_point on the transposed table, to_numpy=True),
    and its lookup dequantize_with_sz_map: (q - zero[g_idx]) * scale[g_idx], in float32."""
    t = np.ascontiguousarray(w.T)
    d, rows = t.shape
    n_groups = -(-d // block)
    padded = n_groups * block
    if padded > d:
        t = np.concatenate([t, np.zeros((padded - d, rows), dtype=t.dtype)], axis=0)
    r = t.reshape(n_groups, block, rows)
    mn = np.min(r, axis=1, keepdims=True)
    mx = np.max(r, axis=1, keepdims=True)
    scale = np.divide(np.subtract(mx, mn) + EPS, 7 - (-8))
    zero = np.clip(np.round(np.divide(-mn, scale)) + (-8), -8, 7)
    q = np.clip(np.round(np.divide(r, scale)) + zero, -8, 7).astype(np.int8)
    assert scale.dtype == np.float32 and zero.dtype == np.float32
    q = q.reshape(padded, rows)[:d].T
    scale = np.squeeze(scale, axis=1).T.astype(np.float32)
    zero = np.squeeze(zero, axis=1).astype(np.int8).T
    g_idx = np.floor_divide(np.arange(w.shape[1], dtype=np.float32), block).astype(np.float32)
    g = g_idx.astype(np.int32)
    deq = np.multiply(np.subtract(q.astype(np.float32), zero[:, g].astype(np.float32)), scale[:, g]).astype(np.float32)
    return {
        'id': case_id,
        'inputDim': w.shape[0],
        'outputDim': w.shape[1],
        'blockSize': block,
        'weights': hexes(w),
        'q': [int(v) for v in np.ascontiguousarray(q).ravel()],
        'packed': [int(v) for v in pack_int4(np.ascontiguousarray(q)).ravel()],
        'packedShape': list(pack_int4(np.ascontiguousarray(q)).shape),
        'scales': hexes(scale),
        'scalesShape': list(scale.shape),
        'zeros': [int(v) for v in zero.ravel()],
        'gIdx': [float(v) for v in g_idx],
        'dequantized': hexes(deq),
    }


def lora_case(case_id, E, A, B, rank, alpha, ids):
    merged, out = lora_forward(E, A, B, alpha, rank, ids)
    assert np.any(merged != E)
    return {
        'id': case_id,
        'inputDim': E.shape[0],
        'outputDim': E.shape[1],
        'rank': rank,
        'alpha': alpha,
        'weights': nums(E),
        'loraA': nums(A),
        'loraB': nums(B),
        'indices': ids,
        'merged': hexes(merged),
        'expected': {'shape': list(out.shape), 'data': hexes(out)},
    }


def lora_training_case(case_id, E, A, B, rank, alpha, ids, targets, lr, steps):
    s = alpha / rank
    E64, A64, B64 = E.astype(np.float64), A.astype(np.float64), B.astype(np.float64)
    idx = np.asarray(ids).ravel()
    d = E.shape[1]
    losses = []
    for _ in range(steps):
        y = E64[idx] + s * (A64[idx] @ B64)
        t = np.asarray(targets, dtype=np.float32).astype(np.float64).reshape(-1, d)
        losses.append(float(np.mean((y - t) ** 2)))
        g = 2.0 * (y - t) / y.size
        gA = np.zeros_like(A64)
        np.add.at(gA, idx, s * (g @ B64.T))
        gB = s * (A64[idx].T @ g)
        A64 = A64 - lr * gA
        B64 = B64 - lr * gB
    y = (E64[idx] + s * (A64[idx] @ B64)).reshape(*np.asarray(ids).shape, d)
    return {
        'id': case_id,
        'inputDim': E.shape[0],
        'outputDim': d,
        'rank': rank,
        'alpha': alpha,
        'weights': nums(E),
        'loraA': nums(A),
        'loraB': nums(B),
        'indices': ids,
        'targets': nums(np.asarray(targets, dtype=np.float32)),
        'optimizer': {'className': 'SGD', 'config': {'learning_rate': lr}},
        'loss': 'mse',
        'steps': steps,
        'losses': losses,
        'expected': {
            'loraA': [float(v) for v in A64.ravel()],
            'loraB': [float(v) for v in B64.ravel()],
            'output': {'shape': list(y.shape), 'data': [float(v) for v in y.ravel()]},
        },
    }


def lora_quantized_case(case_id, w, A, B, rank, alpha, ids):
    """quantize('int4') then LoRA: Keras's _int4_call (q / scale + (alpha / rank) * a[ids] @ b) and the
    value save_own_variables writes (_get_embeddings_with_merged_lora: dequantize, add the delta,
    quantize again). The merged float table is computed in float64 and rounded once to float32,
    the convention of this reference; Keras adds in float32."""
    q, scale = abs_max_quantize(w, -8, 7)
    deq = dequantize(q, scale)
    s = alpha / rank
    merged = (deq.astype(np.float64) + s * (A.astype(np.float64) @ B.astype(np.float64))).astype(np.float32)
    out = merged[np.asarray(ids)]
    q2, scale2 = abs_max_quantize(merged, -8, 7)
    requantized = dequantize(q2, scale2)
    assert np.any(requantized != merged)
    return {
        'id': case_id,
        'inputDim': w.shape[0],
        'outputDim': w.shape[1],
        'rank': rank,
        'alpha': alpha,
        'weights': hexes(w),
        'loraA': nums(A),
        'loraB': nums(B),
        'indices': ids,
        'expected': {'shape': list(out.shape), 'data': hexes(out)},
        'savedPacked': [int(v) for v in pack_int4(q2).ravel()],
        'savedScales': hexes(scale2),
        'savedDequantized': hexes(requantized),
    }


def group(parent, name):
    """A child group without modification times (HDF5 stamps them by default): byte-identical reruns."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def keras_file(case):
    """A Keras 3 .keras zip holding one int4 Embedding (per-channel, or sub-channel with `blockSize`), in the layout Keras 3.16 saves."""
    rows, cols = case['inputDim'], case['outputDim']
    block = case.get('blockSize', -1)
    packed = np.asarray(case['packed'], dtype=np.int8).reshape(case['packedShape'])
    scale = np.frombuffer(bytes.fromhex(''.join(case['scales'])), dtype='>f4').astype(np.float32).reshape(case.get('scalesShape', [rows]))
    buf = io.BytesIO()
    with h5py.File(buf, 'w') as f:
        vars_ = group(group(group(f, 'layers'), 'embedding'), 'vars')
        vars_.attrs['name'] = 'embedding'
        # save_own_variables, mode "int4", block_size -1: "0" embeddings (packed int8), "1" embeddings_scale.
        vars_.create_dataset('0', data=packed, dtype='<i1', track_times=False)
        vars_.create_dataset('1', data=scale, dtype='<f4', track_times=False)
        if block > 0:
            # Sub-channel: "2" embeddings_zero (int8, (input_dim, n_groups)), "3" g_idx (float32, (output_dim,)).
            zeros = np.asarray(case['zeros'], dtype=np.int8).reshape(case['scalesShape'])
            vars_.create_dataset('2', data=zeros, dtype='<i1', track_times=False)
            vars_.create_dataset('3', data=np.asarray(case['gIdx'], dtype=np.float32), dtype='<f4', track_times=False)
        group(f, 'vars').attrs['name'] = 'sequential'
        group(group(f, 'optimizer'), 'vars')
    h5 = buf.getvalue()
    shape = [None, len(case['indices'][0])] if 'indices' in case else [None, None]
    policy = {'module': 'keras', 'class_name': 'Int4DTypePolicy', 'config': {'mode': f'int4/{block}', 'source_name': 'float32'}, 'registered_name': None}
    layer = {
        'name': 'embedding',
        'trainable': True,
        'dtype': policy,
        'input_dim': rows,
        'output_dim': cols,
        'embeddings_initializer': {
            'module': 'keras.initializers',
            'class_name': 'RandomUniform',
            'config': {'seed': None, 'minval': -0.05, 'maxval': 0.05},
            'registered_name': None,
        },
        'embeddings_regularizer': None,
        'activity_regularizer': None,
        'embeddings_constraint': None,
        'mask_zero': False,
        'quantization_config': None
        if block <= 0
        else {
            'module': 'keras.quantizers',
            'class_name': 'Int4QuantizationConfig',
            'config': {'weight_quantizer': None, 'activation_quantizer': None, 'block_size': block},
            'registered_name': None,
        },
    }
    config = {
        'module': 'keras',
        'class_name': 'Sequential',
        'config': {
            'name': 'sequential',
            'trainable': True,
            'dtype': {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'}, 'registered_name': None},
            'layers': [
                {
                    'module': 'keras.layers',
                    'class_name': 'InputLayer',
                    'config': {'batch_shape': shape, 'dtype': 'int32', 'sparse': False, 'ragged': False, 'name': 'input_layer'},
                    'registered_name': None,
                },
                {'module': 'keras.layers', 'class_name': 'Embedding', 'config': layer, 'registered_name': None, 'build_config': {'input_shape': shape}},
            ],
            'build_input_shape': shape,
        },
        'registered_name': None,
        'build_config': {'input_shape': shape},
    }
    metadata = {'keras_version': '3.16.0', 'date_saved': '2026-12-05@00:00:00'}
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_STORED) as z:
        for name, data in (
            ('metadata.json', json.dumps(metadata).encode()),
            ('config.json', json.dumps(config).encode()),
            ('model.weights.h5', h5),
        ):
            info = zipfile.ZipInfo(name, date_time=(2026, 12, 5, 0, 0, 0))
            z.writestr(info, data)
    return out.getvalue()


def main():
    rng = np.random.default_rng(20261205)
    w8 = table(rng, 6, 8, edge_rows=[[1, -0.5, 0.25, 0, 0.75, -1, 0.125, 0.5], [0] * 8])
    w5 = table(rng, 5, 5, edge_rows=[[-2, 1, 0.5, -0.25, 1.5]])
    int4 = [
        quantize_case('int4 8 columns: edge rows (halves, a zero row), random rows of scales 1e-3...10', 'int4', w8, [[0, 1, 2], [5, 3, 0]]),
        quantize_case('int4 5 columns (odd: the last byte of each row keeps a 0 high nibble)', 'int4', w5, [4, 0, 2, 2]),
    ]
    int8 = [quantize_case('int8 8 columns: quantize("int8") as Keras 3 names it', 'int8', w8, [[3, 1], [0, 4]])]

    E = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], dtype=np.float32)
    A = np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]], dtype=np.float32)
    B = np.array([[0.5, 0.5], [0.6, 0.6]], dtype=np.float32)
    E2 = rng.uniform(-0.05, 0.05, (7, 5)).astype(np.float32)
    A2 = rng.uniform(-0.9, 0.9, (7, 3)).astype(np.float32)
    B2 = rng.uniform(-0.2, 0.2, (3, 5)).astype(np.float32)
    lora = [
        lora_case('K3-9: enable_lora(2, lora_alpha=3.0): E + 1.5 * A @ B', E, A, B, 2, 3.0, [[0, 1, 2], [2, 2, 0]]),
        lora_case('rank 3, alpha 6 (scale 2) on a 7 x 5 table', E2, A2, B2, 3, 6.0, [[6, 0, 3], [3, 1, 5]]),
    ]
    targets = rng.uniform(-0.5, 0.5, (2, 3, 5)).astype(np.float32)
    A3 = rng.uniform(-0.5, 0.5, (5, 2)).astype(np.float32)
    B3 = rng.uniform(-0.5, 0.5, (2, 5)).astype(np.float32)
    w6x5 = table(rng, 6, 5, edge_rows=[[0.3, 0.1, 0.2, 0.25, -0.4], [1, 1, 1, 1, 1]])
    grouped = [grouped_int4_case('int4 sub-channel, groups of 4 columns on the 6 x 5 table (the last group padded)', w6x5, 4)]
    lora_quantized = [
        lora_quantized_case('quantize("int4") then LoRA rank 2, alpha 4 on the 5 x 5 table', w5, A3, B3, 2, 4.0, [[0, 4], [2, 2]])
    ]
    training = [
        lora_training_case(
            'SGD(0.1), mse, 2 steps: A and B train, the table stays', E2, A2, B2, 3, 6.0, [[1, 3, 1], [0, 6, 3]], targets, 0.1, 2
        )
    ]
    doc = {
        'description': "Keras 3's Embedding LoRA (enable_lora, lora_rank/lora_alpha) and int4/int8 quantization "
        '(quantize(mode), per-row abs-max scale, pack_int4 along the last axis), computed by '
        'conformance/scripts/make_keras3_fixtures.py from the formulas of keras/src/layers/core/embedding.py and '
        'keras/src/quantizers/quantizers.py (Keras 3.16). float32 values are big-endian hex bits where exact.',
        'int4': int4,
        'int8': int8,
        'lora': lora,
        'loraTraining': training,
        'loraQuantized': lora_quantized,
        'int4Grouped': grouped,
        'kerasFile': {
            'path': 'packages/io/test/fixtures/keras3/int4.keras',
            'case': int4[0]['id'],
            'layout': 'layers/embedding/vars/0: int8 packed (input_dim, ceil(output_dim / 2)); vars/1: float32 embeddings_scale (input_dim,); dtype Int4DTypePolicy mode int4/-1',
        },
    }
    with open(OUT, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    os.makedirs(os.path.dirname(KERAS_OUT), exist_ok=True)
    with open(KERAS_OUT, 'wb') as f:
        f.write(keras_file(int4[0]))
    with open(KERAS_GROUPED_OUT, 'wb') as f:
        f.write(keras_file(grouped[0]))


if __name__ == '__main__':
    main()
