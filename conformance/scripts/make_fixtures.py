#!/usr/bin/env python3
"""Writes conformance/fixtures/*.json.

This is the independent reference: it shares no code with the TypeScript packages. Lookups
are gathered here in Python floats (IEEE float64) and rounded once to float32 with `struct`;
the seeded initializer bits and seeded random inputs come from a second implementation of the
PRNG documented in packages/core/src/random/prng.ts (xoshiro128** seeded by SplitMix32).
Test vectors from Keras, tf-keras and TF.js tests are copied by hand (ids K3-*, TK-*, TJ-* as
in shared/reference/keras-tfjs-torch-onnx-semantics.md, section 5).

Run: python3 conformance/scripts/make_fixtures.py   (stdlib only)
"""
import json
import math
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures')
M32 = 0xFFFFFFFF


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def f32_hex(x):
    return struct.pack('>f', x).hex()


class Xoshiro128:
    def __init__(self, seed):
        lo = seed & M32
        hi = (seed >> 32) & M32
        self.state = lo

        def nxt():
            self.state = (self.state + 0x9E3779B9) & M32
            z = self.state
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
            return (z ^ (z >> 16)) & M32

        self.s = [nxt(), nxt()]
        self.state ^= hi
        self.s += [nxt(), nxt()]

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        rotl = lambda x, k: ((x << k) | (x >> (32 - k))) & M32
        result = (rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next_f64(self):
        a = self.next_u32() >> 5
        b = self.next_u32() >> 6
        return (a * 67108864 + b) / 9007199254740992.0


def uniform_table(seed, rows, cols, minval=-0.05, maxval=0.05):
    rng = Xoshiro128(seed)
    width = maxval - minval
    return [[f32(minval + width * rng.next_f64()) for _ in range(cols)] for _ in range(rows)]


def random_indices(seed, shape, high):
    rng = Xoshiro128(seed)
    n = 1
    for s in shape:
        n *= s
    return [math.floor(rng.next_f64() * high) for _ in range(n)]


def nest(flat, shape):
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def flat_of(nested):
    if isinstance(nested, list):
        out = []
        for x in nested:
            out += flat_of(x)
        return out
    return [nested]


def shape_of(nested):
    shape = []
    while isinstance(nested, list):
        shape.append(len(nested))
        nested = nested[0] if nested else None
    return shape


def gather(table, ids):
    out = []
    for i in ids:
        out += [f32(v) for v in table[int(i)]]
    return out


def fnv1a(floats):
    """FNV-1a 32-bit over the little-endian float32 bytes."""
    h = 0x811C9DC5
    for v in floats:
        for byte in struct.pack('<f', v):
            h ^= byte
            h = (h * 0x01000193) & M32
    return '%08x' % h


def pattern_table(rows, cols):
    """w[r][c] = r * cols + c: exact in float32 and tells every row apart."""
    return [[float(r * cols + c) for c in range(cols)] for r in range(rows)]


def lookup_case(cid, title, source, config, table, inp, weights='explicit', mask=None, expect_shape=None):
    """A lookup case with the output computed here, in Python."""
    if isinstance(inp, dict):
        ids = inp['data']
        shape = inp['shape']
    else:
        ids = flat_of(inp)
        shape = shape_of(inp)
    ids_num = [int(float(x['$number'])) if isinstance(x, dict) else int(x) for x in ids]
    out = gather(table, ids_num)
    case = {
        'id': cid,
        'title': title,
        'source': source,
        'config': config,
        'input': inp,
        'expect': {'shape': expect_shape or (shape + [config['outputDim']]), 'output': out},
    }
    if weights == 'explicit':
        case['weights'] = table
    if mask is not None:
        case['expect']['mask'] = mask
    return case


def write(name, group, description, cases):
    path = os.path.join(OUT, name)
    with open(path, 'w') as fh:
        json.dump({'group': group, 'description': description, 'cases': cases}, fh, indent=1)
        fh.write('\n')


# -------------------------------------------------------------------- training reference (float64)
OPT_DEFAULTS = {
    'sgd': {'learning_rate': 0.01, 'momentum': 0.0, 'nesterov': False},
    'rmsprop': {'learning_rate': 0.001, 'rho': 0.9, 'momentum': 0.0, 'epsilon': 1e-7, 'centered': False},
    'adam': {'learning_rate': 0.001, 'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-7, 'amsgrad': False, 'lazy': False},
    'adagrad': {'learning_rate': 0.001, 'initial_accumulator_value': 0.1, 'epsilon': 1e-7},
}


def loss_and_grad(name, y, p, d):
    n = len(p)
    grad = [0.0] * n
    if name == 'mse':
        total = 0.0
        for i in range(n):
            diff = p[i] - y[i]
            total += diff * diff
            grad[i] = 2 * diff / n
        return total / n, grad
    if name == 'mae':
        total = 0.0
        for i in range(n):
            diff = p[i] - y[i]
            total += abs(diff)
            grad[i] = (diff > 0) - (diff < 0)
            grad[i] /= n
        return total / n, grad
    positions = n // d
    total = 0.0
    for q in range(positions):
        t = y[q * d:(q + 1) * d]
        v = p[q * d:(q + 1) * d]
        tt = sum(x * x for x in t)
        pp = sum(x * x for x in v)
        tp = sum(a * b for a, b in zip(t, v))
        nt = math.sqrt(max(tt, 1e-12))
        npp = math.sqrt(max(pp, 1e-12))
        cos = tp / (nt * npp)
        total -= cos
        for c in range(d):
            g = -(t[c] / (nt * npp)) + (0 if pp < 1e-12 else cos * v[c] / (npp * npp))
            grad[q * d + c] = g / positions
    return total / positions, grad


def reg_factors(reg):
    if reg is None:
        return 0.0, 0.0
    if isinstance(reg, str):
        return {'l1': (0.01, 0.0), 'l2': (0.0, 0.01), 'l1_l2': (0.01, 0.01)}[reg]
    c = reg.get('config', {})
    return c.get('l1', 0.0), c.get('l2', 0.0)


def penalty(reg, xs):
    l1, l2 = reg_factors(reg)
    return l1 * sum(abs(x) for x in xs) + l2 * sum(x * x for x in xs)


def reg_grad(reg, xs):
    l1, l2 = reg_factors(reg)
    return [l1 * ((x > 0) - (x < 0)) + 2 * l2 * x for x in xs]


def project(constraint, w, rows, cols):
    if constraint is None:
        return w
    name = constraint if isinstance(constraint, str) else constraint['className']
    cfg = {} if isinstance(constraint, str) else constraint.get('config', {})
    if name in ('non_neg', 'NonNeg'):
        return [x if x >= 0 else 0.0 for x in w]
    defaults = {'MaxNorm': {'max_value': 2, 'axis': 0}, 'max_norm': {'max_value': 2, 'axis': 0}, 'UnitNorm': {'axis': 0}, 'unit_norm': {'axis': 0},
                'MinMaxNorm': {'min_value': 0.0, 'max_value': 1.0, 'rate': 1.0, 'axis': 0}}[name]
    c = dict(defaults, **cfg)
    w = list(w)
    per_column = c['axis'] in (0, -2)
    groups, length = (cols, rows) if per_column else (rows, cols)
    at = (lambda g, k: k * cols + g) if per_column else (lambda g, k: g * cols + k)
    for g in range(groups):
        n = math.sqrt(sum(w[at(g, k)] ** 2 for k in range(length)))
        if name in ('MaxNorm', 'max_norm'):
            desired = min(max(n, 0), c['max_value'])
        elif name in ('UnitNorm', 'unit_norm'):
            desired = 1.0
        else:
            desired = c['rate'] * min(max(n, c['min_value']), c['max_value']) + (1 - c['rate']) * n
        scale = desired / (1e-7 + n)
        for k in range(length):
            w[at(g, k)] *= scale
    return w


def dropout_scales(ids, shape, rate, rng):
    """Word-embedding dropout (Gal and Ghahramani 2016, 4.2), as core documents it: per sequence
    (an entry of the batch dimension) each distinct index is dropped with probability `rate`,
    one draw of the layer's generator per distinct index in order of first appearance; kept rows
    are scaled by 1 / (1 - rate)."""
    scales = [0.0] * len(ids)
    batch = shape[0]
    per = len(ids) // batch if batch else 0
    kept = f32(1 / (1 - rate))
    for s in range(batch):
        decided = {}
        for j in range(s * per, (s + 1) * per):
            i = ids[j]
            if i not in decided:
                decided[i] = 0.0 if rng.next_f64() < rate else kept
            scales[j] = decided[i]
    return scales


def simulate(config, table, optimizer, loss, batches, adagrad_epsilon_outside=False):
    """Keras 3's training step, densely, in float64: returns the losses and the final weights.

    `adagrad_epsilon_outside` computes the wrong formula lr * g / (sqrt(acc) + epsilon), only to
    show that a fixture tells it from Keras's lr * g / sqrt(acc + epsilon)."""
    rows, cols = config['inputDim'], config['outputDim']
    rate = config.get('embeddingsDropout', 0)
    dropout_rng = Xoshiro128(config['seed']) if rate > 0 else None
    name = optimizer if isinstance(optimizer, str) else optimizer['className'].lower()
    opt = dict(OPT_DEFAULTS[name], **({} if isinstance(optimizer, str) else optimizer.get('config', {})))
    w = [v for row in table for v in row]
    size = rows * cols
    s1 = [0.0] * size
    s2 = [0.0] * size
    s3 = [0.0] * size
    if name == 'adagrad':
        s1 = [opt['initial_accumulator_value']] * size
    losses = []
    for step, (ids, shape, target) in enumerate(batches, start=1):
        out = [w[i * cols + c] for i in ids for c in range(cols)]
        scales = dropout_scales(ids, shape, rate, dropout_rng) if rate > 0 else None
        if scales:
            out = [v * scales[k // cols] for k, v in enumerate(out)]
        value, grad_out = loss_and_grad(loss, target, out, cols)
        act = config.get('activityRegularizer')
        if act is not None:
            value += penalty(act, out) / shape[0]
            ag = reg_grad(act, out)
            grad_out = [g + a / shape[0] for g, a in zip(grad_out, ag)]
        if scales:
            grad_out = [g * scales[k // cols] for k, g in enumerate(grad_out)]
        emb_reg = config.get('embeddingsRegularizer')
        grad = [0.0] * size
        for k, i in enumerate(ids):
            for c in range(cols):
                grad[i * cols + c] += grad_out[k * cols + c]
        if emb_reg is not None:
            value += penalty(emb_reg, w)
            grad = [g + r for g, r in zip(grad, reg_grad(emb_reg, w))]
        losses.append(value)
        lazy_rows = set(ids)
        for j in range(size):
            g = grad[j]
            if name == 'sgd':
                if opt['momentum'] > 0:
                    s1[j] = opt['momentum'] * s1[j] - opt['learning_rate'] * g
                    w[j] += opt['momentum'] * s1[j] - opt['learning_rate'] * g if opt['nesterov'] else s1[j]
                else:
                    w[j] -= opt['learning_rate'] * g
            elif name == 'rmsprop':
                rho = opt['rho']
                s1[j] = rho * s1[j] + (1 - rho) * g * g
                if opt['centered']:
                    s2[j] = rho * s2[j] + (1 - rho) * g
                    den = s1[j] - s2[j] ** 2 + opt['epsilon']
                else:
                    den = s1[j] + opt['epsilon']
                inc = opt['learning_rate'] * g / math.sqrt(den)
                if opt['momentum'] > 0:
                    s3[j] = opt['momentum'] * s3[j] + inc
                    w[j] -= s3[j]
                else:
                    w[j] -= inc
            elif name == 'adam':
                if opt['lazy'] and (j // cols) not in lazy_rows:
                    continue
                b1, b2 = opt['beta_1'], opt['beta_2']
                alpha = opt['learning_rate'] * math.sqrt(1 - b2 ** step) / (1 - b1 ** step)
                s1[j] += (g - s1[j]) * (1 - b1)
                s2[j] += (g * g - s2[j]) * (1 - b2)
                v = s2[j]
                if opt['amsgrad']:
                    s3[j] = max(s3[j], s2[j])
                    v = s3[j]
                w[j] -= alpha * s1[j] / (math.sqrt(v) + opt['epsilon'])
            else:
                s1[j] += g * g
                if adagrad_epsilon_outside:
                    w[j] -= opt['learning_rate'] * g / (math.sqrt(s1[j]) + opt['epsilon'])
                else:
                    w[j] -= opt['learning_rate'] * g / math.sqrt(s1[j] + opt['epsilon'])
        w = project(config.get('embeddingsConstraint'), w, rows, cols)
    return losses, [w[r * cols:(r + 1) * cols] for r in range(rows)]


# The conformance suite's default training tolerance (conformance/src/vitest.ts): relative, 1e-5 * (1 + |expected|).
TRAINING_TOLERANCE = 1e-5


def assert_feature_matters(cid, with_feature, without_feature):
    """Fails the generator unless the feature moves some loss or weight by at least 1000x the
    conformance tolerance: a fixture that cannot see its feature is no test of it."""
    excess = max(abs(a - b) / (TRAINING_TOLERANCE * (1 + abs(a))) for a, b in zip(with_feature, without_feature))
    assert excess >= 1000, 'fit-%s: the feature changes the result by only %.3g x the tolerance' % (cid, excess)
    return excess


def training_cases():
    rows, cols, per = 8, 3, 2
    table = uniform_table(31, rows, cols, -0.5, 0.5)
    batches = []
    for b in range(6):
        # Rows 6 and 7 are looked up only in the first batch, so they sit idle afterwards.
        ids = random_indices(100 + b, [3, per], 6) if b else [6, 7, 0, 6, 1, 2]
        target = [f32(x) for x in uniform_table(200 + b, 3 * per, cols, -1, 1) for x in x]
        batches.append((ids, [3, per], target))
    variants = [
        ('sgd-mse', 'sgd', 'mse', {}),
        ('sgd-momentum', {'className': 'SGD', 'config': {'learning_rate': 0.1, 'momentum': 0.9}}, 'mse', {}),
        ('sgd-nesterov', {'className': 'SGD', 'config': {'learning_rate': 0.1, 'momentum': 0.5, 'nesterov': True}}, 'mse', {}),
        ('rmsprop-mse', 'rmsprop', 'mse', {}),
        ('rmsprop-centered-momentum', {'className': 'RMSprop', 'config': {'learning_rate': 0.01, 'momentum': 0.5, 'centered': True}}, 'mse', {}),
        ('rmsprop-centered', {'className': 'RMSprop', 'config': {'learning_rate': 0.01, 'rho': 0.8, 'centered': True}}, 'mae', {}),
        ('adam-mse', 'adam', 'mse', {}),
        ('adam-amsgrad', {'className': 'Adam', 'config': {'learning_rate': 0.01, 'amsgrad': True}}, 'mse', {}),
        ('adam-lazy', {'className': 'Adam', 'config': {'learning_rate': 0.01, 'lazy': True}}, 'mse', {}),
        ('adagrad-mse', 'adagrad', 'mse', {}),
        ('rmsprop-mae', 'rmsprop', 'mae', {}),
        ('sgd-cosine', {'className': 'SGD', 'config': {'learning_rate': 0.5}}, 'cosine_similarity', {}),
        ('sgd-l2-regularizer', {'className': 'SGD', 'config': {'learning_rate': 0.1}}, 'mse', {'embeddingsRegularizer': 'l2'}),
        ('adam-l1-regularizer', {'className': 'Adam', 'config': {'learning_rate': 0.01}}, 'mse', {'embeddingsRegularizer': {'className': 'L1', 'config': {'l1': 0.001}}}),
        ('sgd-activity-regularizer', {'className': 'SGD', 'config': {'learning_rate': 0.1}}, 'mse', {'activityRegularizer': {'className': 'L2', 'config': {'l2': 0.1}}}),
        ('sgd-max-norm', {'className': 'SGD', 'config': {'learning_rate': 0.5}}, 'mse', {'embeddingsConstraint': {'className': 'MaxNorm', 'config': {'max_value': 0.5}}}),
        ('rmsprop-unit-norm-rows', {'className': 'RMSprop', 'config': {'learning_rate': 0.01}}, 'mse', {'embeddingsConstraint': {'className': 'UnitNorm', 'config': {'axis': 1}}}),
        ('adagrad-non-neg', {'className': 'Adagrad', 'config': {'learning_rate': 0.05}}, 'mse', {'embeddingsConstraint': 'non_neg'}),
        ('sgd-min-max-norm', {'className': 'SGD', 'config': {'learning_rate': 0.1}}, 'mse', {'embeddingsConstraint': {'className': 'MinMaxNorm', 'config': {'min_value': 0.5, 'max_value': 0.6, 'rate': 0.5, 'axis': 1}}}),
        ('adagrad-epsilon', {'className': 'Adagrad', 'config': {'learning_rate': 0.1, 'initial_accumulator_value': 0.0, 'epsilon': 0.01}}, 'mse', {}),
        ('sgd-embedding-dropout', {'className': 'SGD', 'config': {'learning_rate': 0.5}}, 'mse', {'embeddingsDropout': 0.5, 'seed': 11}),
    ]
    # What each feature fixture is for, and the same run without the feature: a backend that
    # ignores the feature (or, for adagrad, puts epsilon outside the square root) must land far
    # outside the conformance tolerance (|a - b| <= 1e-5 * (1 + |b|)). Checked below.
    without = {
        'sgd-max-norm': lambda c, o: (dict(c, embeddingsConstraint=None), o, {}),
        'sgd-min-max-norm': lambda c, o: (dict(c, embeddingsConstraint=None), o, {}),
        'rmsprop-unit-norm-rows': lambda c, o: (dict(c, embeddingsConstraint=None), o, {}),
        'adagrad-non-neg': lambda c, o: (dict(c, embeddingsConstraint=None), o, {}),
        'adagrad-epsilon': lambda c, o: (c, o, {'adagrad_epsilon_outside': True}),
        'sgd-embedding-dropout': lambda c, o: (dict(c, embeddingsDropout=0), o, {}),
    }
    cases = []
    for cid, optimizer, loss, extra in variants:
        config = dict({'inputDim': rows, 'outputDim': cols}, **extra)
        losses, final = simulate(config, table, optimizer, loss, batches)
        if cid in without:
            other_config, other_optimizer, flags = without[cid](config, optimizer)
            other_losses, other_final = simulate(other_config, table, other_optimizer, loss, batches, **flags)
            assert_feature_matters(cid, losses + flat_of(final), other_losses + flat_of(other_final))
        cases.append({
            'id': 'fit-' + cid,
            'title': '%s steps of %s on %s%s: losses and weights as Keras 3 computes them' % (len(batches), json.dumps(optimizer), loss, (' with ' + ', '.join(extra)) if extra else ''),
            'source': 'Keras 3 optimizer formulas, float64 reference in Python',
            'config': config,
            'weights': table,
            'compile': {'optimizer': optimizer, 'loss': loss},
            'batches': [{'input': nest(ids, shape), 'target': target} for ids, shape, target in batches],
            'expect': {'losses': losses, 'weights': final},
        })
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)

    # ---------------------------------------------------------------- lookups
    seed_table = [[0.0, 0.0] for _ in range(21)]
    seed_table[4] = [0.25, 0.1]
    seed_table[20] = [0.6, -0.2]
    lookups = [
        lookup_case('seed-doc-example', 'The seed docs: [[4], [20]] -> [[0.25, 0.1], [0.6, -0.2]]', 'seed text',
                    {'inputDim': 21, 'outputDim': 2}, seed_table, [[4], [20]]),
    ]
    # The seed's model: Embedding(1000, 64, input_length=10), seeded uniform weights, 32x10 input.
    seed_model_table = uniform_table(42, 1000, 64)
    ids = random_indices(7, [32, 10], 1000)
    out = gather(seed_model_table, ids)
    lookups.append({
        'id': 'seed-model-32x10',
        'title': 'The seed model: Embedding(1000, 64, input_length=10) on a 32x10 input -> (32, 10, 64)',
        'source': 'seed text',
        'config': {'inputDim': 1000, 'outputDim': 64, 'inputLength': 10, 'seed': 42},
        'input': {'random': {'seed': 7, 'shape': [32, 10]}},
        'expect': {'shape': [32, 10, 64], 'outputFnv1a': fnv1a(out), 'outputHead': out[:64], 'outputSum': math.fsum(out)},
    })
    p = pattern_table(10, 3)
    lookups += [
        lookup_case('rank-1', 'Rank-1 input', 'TJ-1', {'inputDim': 10, 'outputDim': 3}, p, [1, 2, 9]),
        lookup_case('rank-2', 'Rank-2 input', 'tfjs', {'inputDim': 10, 'outputDim': 3}, p, [[0, 9], [3, 3], [7, 1]]),
        lookup_case('rank-3', 'Rank-3 input', 'TK-3', {'inputDim': 10, 'outputDim': 3}, p,
                    nest(random_indices(3, [3, 4, 2], 10), [3, 4, 2])),
        lookup_case('rank-4', 'Rank-4 input (batch 2, 3x2x2)', 'TJ-1', {'inputDim': 10, 'outputDim': 3}, p,
                    nest(random_indices(4, [2, 3, 2, 2], 10), [2, 3, 2, 2])),
        lookup_case('duplicate-indices', 'Repeated indices return the same row each time', 'keras',
                    {'inputDim': 10, 'outputDim': 3}, p, [[5, 5, 5], [0, 5, 0]]),
        lookup_case('empty-batch', 'An empty batch gives an empty output of shape [0, 10, 3]', 'keras',
                    {'inputDim': 10, 'outputDim': 3, 'inputLength': 10}, p,
                    {'dtype': 'int32', 'data': [], 'shape': [0, 10]}),
        lookup_case('output-dim-0', 'output_dim = 0 (allowed by the seed docs) gives rows of length 0', 'seed text',
                    {'inputDim': 5, 'outputDim': 0}, [[] for _ in range(5)], [[1, 2], [4, 0]]),
        lookup_case('float32-integral', 'Float32Array indices holding integers (Keras accepts float input)', 'TJ-5',
                    {'inputDim': 10, 'outputDim': 3}, p, {'dtype': 'float32', 'data': [0, 0, 1], 'shape': [3, 1]}),
        lookup_case('float64-integral', 'Float64Array indices holding integers, -0 is 0', 'keras',
                    {'inputDim': 10, 'outputDim': 3}, p, {'dtype': 'float64', 'data': [9, 2, {'$number': '-0'}], 'shape': [3]}),
        lookup_case('bigint64', 'BigInt64Array indices (int64 input, K3-2)', 'K3-2',
                    {'inputDim': 10, 'outputDim': 3}, p, {'dtype': 'bigint64', 'data': ['9', '0', '4', '4'], 'shape': [2, 2]}),
        lookup_case('uint32', 'Uint32Array indices', 'core', {'inputDim': 10, 'outputDim': 3}, p,
                    {'dtype': 'uint32', 'data': [3, 1, 4, 1, 5, 9], 'shape': [2, 3]}),
        lookup_case('int32-typed', 'Int32Array with { data, shape }', 'core', {'inputDim': 10, 'outputDim': 3}, p,
                    {'dtype': 'int32', 'data': [2, 7, 1, 8], 'shape': [2, 2]}),
        lookup_case('K3-3', 'Keras 3 correctness: E=[[0,0],[2,2],[3,3]], ids [2,1,0]', 'K3-3',
                    {'inputDim': 3, 'outputDim': 2}, [[0, 0], [2, 2], [3, 3]], [2, 1, 0]),
        lookup_case('TK-5', 'tf-keras correctness: E=[[1,1],[2,2]], ids [[0,1,0]]', 'TK-5',
                    {'inputDim': 2, 'outputDim': 2}, [[1, 1], [2, 2]], [[0, 1, 0]]),
        lookup_case('TK-8-padded', 'tf-keras ragged float input, padded with 0: [[1,2,2],[0,0,0],[1,2,0]]', 'TK-8',
                    {'inputDim': 3, 'outputDim': 2}, [[0, 0], [1, 1], [2, 2]],
                    {'dtype': 'float32', 'data': [1, 2, 2, 0, 0, 0, 1, 2, 0], 'shape': [3, 3]}),
        lookup_case('TJ-4', 'TF.js values: x=[[[0,5,1,1],[1,1,1,1]]], inputDim 6, outputDim 3', 'TJ-4',
                    {'inputDim': 6, 'outputDim': 3}, pattern_table(6, 3), [[[0, 5, 1, 1], [1, 1, 1, 1]]]),
        lookup_case('TJ-5-int32', 'TF.js int32 input [[0],[0],[1]]', 'TJ-5', {'inputDim': 4, 'outputDim': 3},
                    uniform_table(5, 4, 3), {'dtype': 'int32', 'data': [0, 0, 1], 'shape': [3, 1]}),
        lookup_case('TJ-5-float32', 'TF.js float32 input [[0],[0],[1]]', 'TJ-5', {'inputDim': 4, 'outputDim': 3},
                    uniform_table(5, 4, 3), {'dtype': 'float32', 'data': [0, 0, 1], 'shape': [3, 1]}),
        lookup_case('K3-1', 'Keras 3 basics: input_dim 4, output_dim 3, input shape (2,)', 'K3-1',
                    {'inputDim': 4, 'outputDim': 3}, uniform_table(11, 4, 3), [3, 0]),
        lookup_case('K3-2', 'Keras 3: input_dim 5, output_dim 4, mask_zero, int64 input (2, 3)', 'K3-2',
                    {'inputDim': 5, 'outputDim': 4, 'maskZero': True}, uniform_table(12, 5, 4),
                    {'dtype': 'bigint64', 'data': ['1', '0', '4', '0', '0', '2'], 'shape': [2, 3]},
                    mask=[[1, 0, 1], [0, 0, 1]]),
        lookup_case('TK-1', 'tf-keras: output_dim 4, input_dim 10, input_length 2, input (3, 2)', 'TK-1',
                    {'inputDim': 10, 'outputDim': 4, 'inputLength': 2}, uniform_table(13, 10, 4),
                    [[1, 2], [3, 4], [9, 0]]),
        lookup_case('TK-2', 'tf-keras: mask_zero, input (3, 2)', 'TK-2', {'inputDim': 10, 'outputDim': 4, 'maskZero': True},
                    uniform_table(14, 10, 4), [[0, 2], [3, 0], [9, 9]], mask=[[0, 1], [1, 0], [1, 1]]),
        lookup_case('TK-3', 'tf-keras: mask_zero, input (3, 4, 2) -> (3, 4, 2, 4)', 'TK-3',
                    {'inputDim': 10, 'outputDim': 4, 'maskZero': True}, uniform_table(15, 10, 4),
                    nest(random_indices(16, [3, 4, 2], 10), [3, 4, 2]),
                    mask=nest([1 if v != 0 else 0 for v in random_indices(16, [3, 4, 2], 10)], [3, 4, 2])),
        lookup_case('TK-4', 'tf-keras: input_length (None, 2) with input (3, 4, 2)', 'TK-4',
                    {'inputDim': 10, 'outputDim': 4, 'inputLength': [None, 2]}, uniform_table(17, 10, 4),
                    nest(random_indices(18, [3, 4, 2], 10), [3, 4, 2])),
        lookup_case('seed-table-mask', 'mask_zero with row 0 still looked up (the mask does not zero the output)', 'keras#2897',
                    {'inputDim': 21, 'outputDim': 2, 'maskZero': True}, [[7.5, -1.0]] + seed_table[1:], [[4, 0], [0, 20]],
                    mask=[[1, 0], [0, 1]]),
    ]
    write('lookup.json', 'lookup', 'Forward lookups: output values (bitwise float32) and shapes; masks where given.', lookups)

    # ---------------------------------------------------------------- masks
    masks = [
        {'id': 'K3-4', 'title': 'mask_zero: ids [2,1,0] -> [true, true, false]', 'source': 'K3-4',
         'config': {'inputDim': 3, 'outputDim': 2, 'maskZero': True}, 'input': [2, 1, 0], 'expect': {'mask': [1, 1, 0]}},
        {'id': 'K3-5', 'title': 'mask_zero false -> mask null', 'source': 'K3-5',
         'config': {'inputDim': 3, 'outputDim': 2}, 'input': [2, 1, 0], 'expect': {'mask': None}},
        {'id': 'TJ-6-int32', 'title': 'TF.js computeMask maskZero on int32 [[0],[0],[2]]', 'source': 'TJ-6',
         'config': {'inputDim': 3, 'outputDim': 2, 'maskZero': True},
         'input': {'dtype': 'int32', 'data': [0, 0, 2], 'shape': [3, 1]}, 'expect': {'mask': [[0], [0], [1]]}},
        {'id': 'TJ-6-float32', 'title': 'TF.js computeMask maskZero on float32 [[0],[0],[2]]', 'source': 'TJ-6',
         'config': {'inputDim': 3, 'outputDim': 2, 'maskZero': True},
         'input': {'dtype': 'float32', 'data': [0, 0, 2], 'shape': [3, 1]}, 'expect': {'mask': [[0], [0], [1]]}},
        {'id': 'TJ-6-off', 'title': 'TF.js computeMask maskZero false -> null', 'source': 'TJ-6',
         'config': {'inputDim': 3, 'outputDim': 2, 'maskZero': False}, 'input': [[0], [0], [2]], 'expect': {'mask': None}},
        {'id': 'mask-rank-3', 'title': 'mask_zero on a rank-3 input keeps its shape', 'source': 'keras',
         'config': {'inputDim': 5, 'outputDim': 1, 'maskZero': True}, 'input': [[[0, 1], [2, 0]], [[0, 0], [4, 3]]],
         'expect': {'mask': [[[0, 1], [1, 0]], [[0, 0], [1, 1]]]}},
    ]
    write('mask.json', 'mask', 'compute_mask: null without mask_zero, else index != 0 with the input shape.', masks)

    # ---------------------------------------------------------------- output shapes
    shapes = []
    for od in (1, 7, 47):
        for s in ([1], [5], [1, 20], [2, 3, 4]):
            shapes.append({'id': 'TJ-1-%d-%s' % (od, 'x'.join(map(str, s))), 'title': 'TF.js symbolic shape [17, %s] -> + [%d]' % (s, od),
                           'source': 'TJ-1', 'config': {'inputDim': 100, 'outputDim': od}, 'inputShape': [17] + s,
                           'expect': {'shape': [17] + s + [od]}})
    for il in ([None, 4, 5], [None, None, 5], [None, None, None]):
        shapes.append({'id': 'TJ-3-%s' % '-'.join('n' if x is None else str(x) for x in il),
                       'title': 'TF.js inputLength %s with input [17, null, 4, 5]' % il, 'source': 'TJ-3',
                       'config': {'inputDim': 100, 'outputDim': 7, 'inputLength': il}, 'inputShape': [17, None, 4, 5],
                       'expect': {'shape': [17, None, 4, 5, 7]}})
    shapes += [
        {'id': 'seed-output-shape', 'title': 'The seed: model.output_shape == (None, 10, 64)', 'source': 'seed text',
         'config': {'inputDim': 1000, 'outputDim': 64, 'inputLength': 10}, 'inputShape': [None, 10], 'expect': {'shape': [None, 10, 64]}},
        {'id': 'input-length-agree', 'title': 'input_length 10 agrees with input (32, 10)', 'source': 'keras 2',
         'config': {'inputDim': 1000, 'outputDim': 64, 'inputLength': 10}, 'inputShape': [32, 10], 'expect': {'shape': [32, 10, 64]}},
        {'id': 'input-length-null-dim', 'title': 'input_length 10 with an unknown sequence dimension gives 10', 'source': 'keras 2',
         'config': {'inputDim': 1000, 'outputDim': 64, 'inputLength': 10}, 'inputShape': [None, None], 'expect': {'shape': [None, 10, 64]}},
        {'id': 'input-length-disagree', 'title': 'input_length 10 disagrees with input (32, 9)', 'source': 'keras 2',
         'config': {'inputDim': 1000, 'outputDim': 64, 'inputLength': 10}, 'inputShape': [32, 9], 'expect': {'error': 'SHAPE_MISMATCH'}},
        {'id': 'input-length-rank', 'title': 'input_length 10 with a rank-3 input (32, 10, 2)', 'source': 'keras 2',
         'config': {'inputDim': 1000, 'outputDim': 64, 'inputLength': 10}, 'inputShape': [32, 10, 2], 'expect': {'error': 'SHAPE_MISMATCH'}},
        {'id': 'input-length-list-disagree', 'title': 'input_length [null, 2] with input (3, 4, 3)', 'source': 'TK-4',
         'config': {'inputDim': 10, 'outputDim': 4, 'inputLength': [None, 2]}, 'inputShape': [3, 4, 3], 'expect': {'error': 'SHAPE_MISMATCH'}},
        {'id': 'no-input-length-any-rank', 'title': 'Without input_length any rank is accepted', 'source': 'keras 3',
         'config': {'inputDim': 10, 'outputDim': 4}, 'inputShape': [2, 3, 4, 5, 6], 'expect': {'shape': [2, 3, 4, 5, 6, 4]}},
    ]
    write('output-shape.json', 'outputShape', 'compute_output_shape, with input_length checks as Keras 2 does.', shapes)

    # ---------------------------------------------------------------- config errors
    N = lambda s: {'$number': s}
    bad = [
        ('input-dim-zero', {'inputDim': 0, 'outputDim': 4}, 'TK-6: input_dim = 0'),
        ('input-dim-negative', {'inputDim': -123, 'outputDim': 4}, 'TJ-2: inputDim -123'),
        ('input-dim-fraction', {'inputDim': 12.5, 'outputDim': 4}, 'TJ-2: inputDim 12.5'),
        ('input-dim-string', {'inputDim': '10', 'outputDim': 4}, 'input_dim as a string'),
        ('input-dim-nan', {'inputDim': N('NaN'), 'outputDim': 4}, 'input_dim NaN'),
        ('input-dim-infinity', {'inputDim': N('Infinity'), 'outputDim': 4}, 'input_dim Infinity'),
        ('input-dim-too-big', {'inputDim': 2 ** 31, 'outputDim': 1}, 'input_dim beyond int32'),
        ('input-dim-missing', {'outputDim': 4}, 'input_dim missing'),
        ('output-dim-negative', {'inputDim': 10, 'outputDim': -32}, 'TJ-2: outputDim -32'),
        ('output-dim-fraction', {'inputDim': 10, 'outputDim': 16.5}, 'TJ-2: outputDim 16.5'),
        ('output-dim-missing', {'inputDim': 10}, 'output_dim missing'),
        ('table-overflows', {'inputDim': 2 ** 31 - 1, 'outputDim': 2 ** 30}, 'input_dim * output_dim beyond 2^53'),
        ('unknown-initializer', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': 'glorot_uniformm'}, 'unknown initializer name'),
        ('initializer-bad-param', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': {'className': 'RandomUniform', 'config': {'minval': 'a'}}}, 'minval not a number'),
        ('initializer-unknown-param', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': {'class_name': 'RandomUniform', 'config': {'min': 0}}}, 'unknown initializer parameter'),
        ('variance-scaling-mode', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': {'className': 'VarianceScaling', 'config': {'mode': 'fan_x'}}}, 'bad mode'),
        ('variance-scaling-scale', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': {'className': 'VarianceScaling', 'config': {'scale': 0}}}, 'scale <= 0'),
        ('initializer-seed', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': {'className': 'RandomNormal', 'config': {'seed': 1.5}}}, 'fractional initializer seed'),
        ('unknown-regularizer', {'inputDim': 10, 'outputDim': 4, 'embeddingsRegularizer': 'l3'}, 'unknown regularizer'),
        ('regularizer-negative', {'inputDim': 10, 'outputDim': 4, 'embeddingsRegularizer': {'className': 'L2', 'config': {'l2': -1}}}, 'negative factor'),
        ('unknown-activity-regularizer', {'inputDim': 10, 'outputDim': 4, 'activityRegularizer': 'dropout'}, 'unknown activity regularizer'),
        ('unknown-constraint', {'inputDim': 10, 'outputDim': 4, 'embeddingsConstraint': 'max'}, 'unknown constraint'),
        ('constraint-axis', {'inputDim': 10, 'outputDim': 4, 'embeddingsConstraint': {'className': 'MaxNorm', 'config': {'axis': 2}}}, 'axis out of range'),
        ('input-length-zero', {'inputDim': 10, 'outputDim': 4, 'inputLength': 0}, 'input_length 0'),
        ('input-length-negative', {'inputDim': 10, 'outputDim': 4, 'inputLength': -1}, 'input_length -1'),
        ('input-length-empty-list', {'inputDim': 10, 'outputDim': 4, 'inputLength': []}, 'input_length []'),
        ('input-length-fraction', {'inputDim': 10, 'outputDim': 4, 'inputLength': [2.5]}, 'input_length [2.5]'),
        ('mask-zero-type', {'inputDim': 10, 'outputDim': 4, 'maskZero': 'yes'}, 'mask_zero not a boolean'),
        ('trainable-type', {'inputDim': 10, 'outputDim': 4, 'trainable': 1}, 'trainable not a boolean'),
        ('dtype', {'inputDim': 10, 'outputDim': 4, 'dtype': 'float16'}, 'unsupported dtype'),
        ('seed-negative', {'inputDim': 10, 'outputDim': 4, 'seed': -1}, 'negative seed'),
        ('name-empty', {'inputDim': 10, 'outputDim': 4, 'name': ''}, 'empty name'),
        ('unknown-argument', {'inputDim': 10, 'outputDim': 4, 'inputDims': 3}, 'a misspelt argument'),
        ('input-dim-null', {'inputDim': None, 'outputDim': 4}, 'input_dim null'),
        ('input-dim-bool', {'inputDim': True, 'outputDim': 4}, 'input_dim a boolean'),
        ('output-dim-nan', {'inputDim': 10, 'outputDim': N('NaN')}, 'output_dim NaN'),
        ('output-dim-infinity', {'inputDim': 10, 'outputDim': N('Infinity')}, 'output_dim Infinity'),
        ('output-dim-string', {'inputDim': 10, 'outputDim': '4'}, 'output_dim as a string'),
        ('initializer-number', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': 42}, 'an initializer that is a number'),
        ('initializer-nan-param', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': {'className': 'RandomNormal', 'config': {'stddev': N('NaN')}}}, 'stddev NaN'),
        ('initializer-infinite-param', {'inputDim': 10, 'outputDim': 4, 'embeddingsInitializer': {'className': 'RandomUniform', 'config': {'maxval': N('Infinity')}}}, 'maxval Infinity'),
        ('regularizer-array', {'inputDim': 10, 'outputDim': 4, 'embeddingsRegularizer': ['l2']}, 'a regularizer given as an array'),
        ('regularizer-infinite', {'inputDim': 10, 'outputDim': 4, 'activityRegularizer': {'className': 'L1', 'config': {'l1': N('Infinity')}}}, 'l1 Infinity'),
        ('constraint-negative', {'inputDim': 10, 'outputDim': 4, 'embeddingsConstraint': {'className': 'MaxNorm', 'config': {'max_value': -1}}}, 'max_value -1'),
        ('input-length-string', {'inputDim': 10, 'outputDim': 4, 'inputLength': 'ten'}, 'input_length a string'),
        ('input-length-nan', {'inputDim': 10, 'outputDim': 4, 'inputLength': N('NaN')}, 'input_length NaN'),
        ('seed-string', {'inputDim': 10, 'outputDim': 4, 'seed': 'abc'}, 'seed a string'),
        ('seed-huge', {'inputDim': 10, 'outputDim': 4, 'seed': 2 ** 60}, 'seed beyond 2^53'),
        ('name-number', {'inputDim': 10, 'outputDim': 4, 'name': 5}, 'name a number'),
        ('dropout-one', {'inputDim': 10, 'outputDim': 4, 'embeddingsDropout': 1}, 'embeddings_dropout 1'),
        ('dropout-negative', {'inputDim': 10, 'outputDim': 4, 'embeddingsDropout': -0.1}, 'embeddings_dropout -0.1'),
    ]
    config_errors = [{'id': cid, 'title': title, 'source': 'keras/tfjs validation', 'config': cfg, 'expect': {'error': 'INVALID_CONFIG'}}
                     for cid, cfg, title in bad]
    config_errors += [
        {'id': 'table-too-large', 'title': '100,000 x 100,000 floats (40 GB) is refused before anything is allocated', 'source': 'contract',
         'config': {'inputDim': 100000, 'outputDim': 100000}, 'expect': {'error': 'UNSUPPORTED_FEATURE'}},
        {'id': 'keras-config-wrong-class', 'title': 'fromConfig of a Dense layer', 'source': 'keras',
         'kerasConfig': {'class_name': 'Dense', 'config': {'units': 3}}, 'expect': {'error': 'INVALID_CONFIG'}},
        {'id': 'keras-config-quantized', 'title': 'fromConfig of a Keras 3 int8-quantized Embedding', 'source': 'keras 3',
         'kerasConfig': {'input_dim': 10, 'output_dim': 4, 'quantization_config': {'class_name': 'Int8QuantizationConfig'}},
         'expect': {'error': 'INVALID_CONFIG'}},
    ]
    write('config-errors.json', 'configError', 'Every config error: a typed INVALID_CONFIG error before anything is allocated.', config_errors)

    # ---------------------------------------------------------------- index errors
    def ie(cid, title, inp, code='INVALID_INDEX', position=None, config=None):
        case = {'id': cid, 'title': title, 'source': 'contract', 'config': config or {'inputDim': 10, 'outputDim': 3},
                'input': inp, 'expect': {'error': code}}
        if position is not None:
            case['expect']['position'] = position
        return case
    index_errors = [
        ie('negative', '-1 is an error (ONNX would wrap it to the last row)', [[0, -1]], position=[0, 1]),
        ie('equal-input-dim', 'input_dim itself is out of range', [[1, 2], [10, 0]], position=[1, 0]),
        ie('far-out-of-range', '2^31 - 1', {'dtype': 'float64', 'data': [2 ** 31 - 1], 'shape': [1]}, position=[0]),
        ie('fraction-float32', '1.5 in a Float32Array', {'dtype': 'float32', 'data': [0, 1.5], 'shape': [1, 2]}, position=[0, 1]),
        ie('nan', 'NaN', {'dtype': 'float64', 'data': [1, N('NaN')], 'shape': [2]}, position=[1]),
        ie('infinity', 'Infinity', {'dtype': 'float64', 'data': [N('Infinity')], 'shape': [1, 1]}, position=[0, 0]),
        ie('2^53', '2^53 (beyond exact doubles)', {'dtype': 'float64', 'data': [2 ** 53], 'shape': [1]}, position=[0]),
        ie('bigint-negative', 'BigInt64 -1', {'dtype': 'bigint64', 'data': ['3', '-1'], 'shape': [2]}, position=[1]),
        ie('bigint-huge', 'BigInt64 max', {'dtype': 'bigint64', 'data': ['9223372036854775807'], 'shape': [1]}, position=[0]),
        ie('int32-negative', 'Int32Array with a negative value', {'dtype': 'int32', 'data': [1, 2, 3, -7], 'shape': [2, 2]}, position=[1, 1]),
        ie('nested-fraction', '2.5 in nested arrays', [[1, 2.5]], position=[0, 1]),
        ie('nested-string', 'a string in nested arrays', [[1, '3']], position=[0, 1]),
        ie('nested-null', 'null in nested arrays', [[None, 1]], position=[0, 0]),
        ie('mask-zero-out-of-range', 'mask_zero does not relax the range check', [[0, 10]], position=[0, 1],
           config={'inputDim': 10, 'outputDim': 3, 'maskZero': True}),
        ie('ragged', 'ragged nested arrays', [[1, 2, 2], [0], [1, 2]], code='SHAPE_MISMATCH'),
        ie('shape-length-mismatch', 'data length is not the product of shape', {'dtype': 'int32', 'data': [1, 2, 3], 'shape': [2, 2]}, code='SHAPE_MISMATCH'),
        ie('negative-shape', 'a negative dimension', {'dtype': 'int32', 'data': [], 'shape': [-1, 0]}, code='SHAPE_MISMATCH'),
        ie('scalar', 'a bare number (rank 0)', 3, code='SHAPE_MISMATCH'),
        ie('rank-0-shape', '{ data, shape: [] } (rank 0)', {'dtype': 'int32', 'data': [1], 'shape': []}, code='SHAPE_MISMATCH'),
        ie('bigint-beyond-int64', 'a BigInt beyond int64 in nested arrays', [[1, {'$bigint': '1180591620717411303424'}]], position=[0, 1]),
        ie('bigint-negative-nested', 'a negative BigInt in nested arrays', [[{'$bigint': '-3'}]], position=[0, 0]),
        ie('object-element', 'an object in nested arrays', [[1, {}]], position=[0, 1]),
        ie('string-input', 'a string instead of indices', 'hello', code='SHAPE_MISMATCH'),
        ie('nan-in-nested', 'NaN in nested arrays', [[1, N('NaN')]], position=[0, 1]),
        ie('negative-zero-then-bad', '-0 is the valid index 0; the 11 after it is not', {'dtype': 'float32', 'data': [N('-0'), 11], 'shape': [2]}, position=[1]),
        ie('input-length-disagree', 'predict on a (2, 3) input when input_length is 2', [[1, 2, 3], [4, 5, 6]], code='SHAPE_MISMATCH',
           config={'inputDim': 10, 'outputDim': 3, 'inputLength': 2}),
    ]
    write('index-errors.json', 'indexError', 'Bad indices: typed errors naming the position; the layer is unchanged after each.', index_errors)

    # ---------------------------------------------------------------- initializers
    R, C = 200, 100
    n = R * C
    def stats_case(cid, init, lo=None, hi=None, mean=0.0, std=None, title=None, source='keras initializers'):
        # Tolerances: 5 standard errors of the mean; 3% on the standard deviation (n = 20000).
        exp = {'stats': {'mean': mean, 'meanTolerance': 5 * (std or 0) / math.sqrt(n) + 1e-12, 'std': std, 'stdTolerance': 0.03 * (std or 0) + 1e-12}}
        if lo is not None:
            exp['stats']['min'] = lo
            exp['stats']['max'] = hi
        return {'id': cid, 'title': title or cid, 'source': source,
                'config': {'inputDim': R, 'outputDim': C, 'embeddingsInitializer': init, 'seed': 2024}, 'expect': exp}
    fan_in, fan_out, fan_avg = R, C, (R + C) / 2
    T = 0.87962566103423978
    inits = [
        stats_case('uniform-default', 'uniform', -0.05, 0.05, 0, 0.1 / math.sqrt(12), 'default uniform = RandomUniform(-0.05, 0.05)'),
        stats_case('random-uniform-0-1', {'className': 'RandomUniform', 'config': {'minval': 0, 'maxval': 1}}, 0, 1, 0.5, 1 / math.sqrt(12)),
        stats_case('normal', 'normal', None, None, 0, 0.05, 'normal = RandomNormal(0, 0.05)'),
        stats_case('random-normal-custom', {'class_name': 'RandomNormal', 'config': {'mean': 1, 'stddev': 2}}, None, None, 1, 2),
        stats_case('truncated-normal', 'truncated_normal', -0.1, 0.1, 0, 0.05 * T, 'TruncatedNormal(0, 0.05): within 2 sd'),
        stats_case('glorot-uniform', 'glorot_uniform', -math.sqrt(6 / (fan_in + fan_out)), math.sqrt(6 / (fan_in + fan_out)), 0, math.sqrt(2 / (fan_in + fan_out))),
        stats_case('glorot-normal', 'glorot_normal', -2 * math.sqrt(1 / fan_avg) / T, 2 * math.sqrt(1 / fan_avg) / T, 0, math.sqrt(1 / fan_avg)),
        stats_case('he-uniform', 'he_uniform', -math.sqrt(6 / fan_in), math.sqrt(6 / fan_in), 0, math.sqrt(2 / fan_in)),
        stats_case('he-normal', 'he_normal', -2 * math.sqrt(2 / fan_in) / T, 2 * math.sqrt(2 / fan_in) / T, 0, math.sqrt(2 / fan_in)),
        stats_case('lecun-uniform', 'lecun_uniform', -math.sqrt(3 / fan_in), math.sqrt(3 / fan_in), 0, math.sqrt(1 / fan_in)),
        stats_case('lecun-normal', 'lecun_normal', -2 * math.sqrt(1 / fan_in) / T, 2 * math.sqrt(1 / fan_in) / T, 0, math.sqrt(1 / fan_in)),
        stats_case('variance-scaling-default', 'variance_scaling', -2 * math.sqrt(1 / fan_in) / T, 2 * math.sqrt(1 / fan_in) / T, 0, math.sqrt(1 / fan_in)),
        stats_case('variance-scaling-untruncated', {'className': 'VarianceScaling', 'config': {'scale': 2, 'mode': 'fan_out', 'distribution': 'untruncated_normal'}},
                   None, None, 0, math.sqrt(2 / fan_out)),
        stats_case('variance-scaling-uniform-fan-avg', {'className': 'VarianceScaling', 'config': {'scale': 3, 'mode': 'fan_avg', 'distribution': 'uniform'}},
                   -math.sqrt(9 / fan_avg), math.sqrt(9 / fan_avg), 0, math.sqrt(3 / fan_avg)),
    ]
    inits += [
        {'id': 'zeros', 'title': 'zeros', 'source': 'keras', 'config': {'inputDim': 4, 'outputDim': 3, 'embeddingsInitializer': 'zeros'},
         'expect': {'weights': [[0.0] * 3] * 4}},
        {'id': 'ones', 'title': 'ones', 'source': 'keras', 'config': {'inputDim': 4, 'outputDim': 3, 'embeddingsInitializer': 'ones'},
         'expect': {'weights': [[1.0] * 3] * 4}},
        {'id': 'constant', 'title': 'Constant(0.5)', 'source': 'keras', 'config': {'inputDim': 2, 'outputDim': 2, 'embeddingsInitializer': {'className': 'Constant', 'config': {'value': 0.5}}},
         'expect': {'weights': [[0.5, 0.5], [0.5, 0.5]]}},
        {'id': 'identity-tall', 'title': 'Identity on a 4x3 matrix', 'source': 'keras', 'config': {'inputDim': 4, 'outputDim': 3, 'embeddingsInitializer': 'identity'},
         'expect': {'weights': [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]}},
        {'id': 'identity-wide-gain', 'title': 'Identity(gain=2) on a 2x3 matrix', 'source': 'keras',
         'config': {'inputDim': 2, 'outputDim': 3, 'embeddingsInitializer': {'className': 'Identity', 'config': {'gain': 2}}},
         'expect': {'weights': [[2, 0, 0], [0, 2, 0]]}},
        {'id': 'orthogonal-tall', 'title': 'Orthogonal on 200x100: W^T W = I', 'source': 'keras',
         'config': {'inputDim': 200, 'outputDim': 100, 'embeddingsInitializer': 'orthogonal', 'seed': 3}, 'expect': {'orthogonal': {'gain': 1, 'tolerance': 1e-5}}},
        {'id': 'orthogonal-wide-gain', 'title': 'Orthogonal(gain=3) on 30x80: W W^T = 9 I', 'source': 'keras',
         'config': {'inputDim': 30, 'outputDim': 80, 'embeddingsInitializer': {'className': 'Orthogonal', 'config': {'gain': 3}}, 'seed': 3},
         'expect': {'orthogonal': {'gain': 3, 'tolerance': 1e-4}}},
    ]
    for seed, init, lo, hi in ((1234, 'uniform', -0.05, 0.05), (99, {'className': 'RandomUniform', 'config': {'minval': -1, 'maxval': 3}}, -1, 3)):
        table = uniform_table(seed, 6, 5, lo, hi)
        inits.append({'id': 'bits-uniform-%d' % seed, 'title': 'Seed %d gives these float32 bits on every backend' % seed,
                      'source': 'core PRNG (xoshiro128**), recomputed in Python',
                      'config': {'inputDim': 6, 'outputDim': 5, 'embeddingsInitializer': init, 'seed': seed},
                      'expect': {'weightBits': [f32_hex(v) for row in table for v in row]}})
    limit = math.sqrt(6 / (7 + 3))
    table = uniform_table(77, 7, 3, -limit, limit)
    inits.append({'id': 'bits-glorot-uniform', 'title': 'GlorotUniform seed 77 on 7x3: the bits', 'source': 'core PRNG, recomputed in Python',
                  'config': {'inputDim': 7, 'outputDim': 3, 'embeddingsInitializer': {'className': 'GlorotUniform', 'config': {'seed': 77}}},
                  'expect': {'weightBits': [f32_hex(v) for row in table for v in row]}})
    inits += [
        {'id': 'same-seed-same-bits', 'title': 'Two layers with one seed hold identical weights (normal)', 'source': 'contract',
         'config': {'inputDim': 50, 'outputDim': 8, 'embeddingsInitializer': 'he_normal', 'seed': 5}, 'expect': {'deterministic': True}},
        {'id': 'different-seed-different-bits', 'title': 'Seeds 5 and 6 give different weights', 'source': 'contract',
         'config': {'inputDim': 50, 'outputDim': 8, 'seed': 5}, 'otherSeed': 6, 'expect': {'differs': True}},
        {'id': 'no-seed-fresh', 'title': 'Without a seed, two layers get different weights', 'source': 'contract',
         'config': {'inputDim': 50, 'outputDim': 8}, 'expect': {'differs': True}},
    ]
    write('initializers.json', 'initializer', 'Seeded initializers: statistics from Keras formulas, exact values, and PRNG bits.', inits)

    # ---------------------------------------------------------------- Keras JSON round trips
    k2 = {'name': 'embedding', 'trainable': True, 'dtype': 'float32', 'batch_input_shape': [None, 10], 'input_dim': 1000, 'output_dim': 64,
          'embeddings_initializer': {'class_name': 'RandomUniform', 'config': {'minval': -0.05, 'maxval': 0.05, 'seed': None}},
          'embeddings_regularizer': None, 'activity_regularizer': None, 'embeddings_constraint': None, 'mask_zero': False, 'input_length': 10}
    k2b = {'name': 'emb_words', 'trainable': False, 'dtype': 'float32', 'batch_input_shape': [None, None], 'input_dim': 5000, 'output_dim': 16,
           'embeddings_initializer': {'class_name': 'VarianceScaling', 'config': {'scale': 1.0, 'mode': 'fan_avg', 'distribution': 'uniform', 'seed': 3}},
           'embeddings_regularizer': {'class_name': 'L1L2', 'config': {'l1': 0.0, 'l2': 9.999999747378752e-05}},
           'activity_regularizer': {'class_name': 'L1', 'config': {'l1': 0.01}},
           'embeddings_constraint': {'class_name': 'MaxNorm', 'config': {'max_value': 2, 'axis': 0}}, 'mask_zero': True, 'input_length': None}
    k3 = {'module': 'keras.layers', 'class_name': 'Embedding', 'registered_name': None,
          'config': {'name': 'embedding', 'trainable': True,
                     'dtype': {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'}, 'registered_name': None},
                     'input_dim': 20, 'output_dim': 8,
                     'embeddings_initializer': {'module': 'keras.initializers', 'class_name': 'RandomUniform',
                                                'config': {'seed': None, 'minval': -0.05, 'maxval': 0.05}, 'registered_name': None},
                     'embeddings_regularizer': None, 'activity_regularizer': None, 'embeddings_constraint': None, 'mask_zero': True,
                     'lora_rank': None},
          'build_config': {'input_shape': [None, 5]}}
    tfjs = {'class_name': 'Embedding', 'config': {'input_dim': 300, 'output_dim': 12,
            'embeddings_initializer': {'class_name': 'RandomUniform', 'config': {'minval': -0.05, 'maxval': 0.05, 'seed': None}},
            'embeddings_regularizer': None, 'activity_regularizer': None, 'embeddings_constraint': None, 'mask_zero': None,
            'input_length': [7], 'name': 'embedding_Embedding1', 'trainable': True, 'batch_input_shape': [None, 7], 'dtype': 'float32'}}
    roundtrip = [
        {'id': 'keras2-seed-model', 'title': 'A Keras 2 config of the seed model round-trips unchanged', 'source': 'reference 4.1',
         'kerasConfig': k2, 'expect': {'kerasConfig': k2}},
        {'id': 'keras2-everything', 'title': 'A Keras 2 config with regularizers, constraint, mask_zero and a seed round-trips unchanged', 'source': 'reference 4.1',
         'kerasConfig': k2b, 'expect': {'kerasConfig': k2b}},
        {'id': 'keras3-config', 'title': 'A Keras 3 config (dtype policy, module keys, no input_length) loads', 'source': 'reference 4.2',
         'kerasConfig': k3, 'expect': {'kerasConfig': {'name': 'embedding', 'trainable': True, 'dtype': 'float32', 'batch_input_shape': [None, None],
                                                       'input_dim': 20, 'output_dim': 8, 'embeddings_initializer': k2['embeddings_initializer'],
                                                       'embeddings_regularizer': None, 'activity_regularizer': None, 'embeddings_constraint': None,
                                                       'mask_zero': True, 'input_length': None}}},
        {'id': 'tfjs-config', 'title': 'A TF.js model.json layer config (mask_zero null, input_length [7]) loads', 'source': 'reference 4.3',
         'kerasConfig': tfjs, 'expect': {'kerasConfig': {'name': 'embedding_Embedding1', 'trainable': True, 'dtype': 'float32', 'batch_input_shape': [None, 7],
                                                         'input_dim': 300, 'output_dim': 12, 'embeddings_initializer': k2['embeddings_initializer'],
                                                         'embeddings_regularizer': None, 'activity_regularizer': None, 'embeddings_constraint': None,
                                                         'mask_zero': False, 'input_length': [7]}}},
        {'id': 'camel-config-roundtrip', 'title': 'create -> getConfig -> fromConfig -> getConfig is stable and keeps the weights', 'source': 'contract',
         'config': {'inputDim': 30, 'outputDim': 4, 'embeddingsInitializer': 'glorot_normal', 'embeddingsConstraint': 'unit_norm', 'maskZero': True,
                    'inputLength': [None, 3], 'seed': 8, 'name': 'tokens'},
         'expect': {'sameWeights': True}},
    ]
    write('roundtrip.json', 'roundTrip', 'getConfig/fromConfig in the Keras 2, Keras 3 and TF.js dialects.', roundtrip)

    # ---------------------------------------------------------------- weights
    weights = [
        {'id': 'set-weights-wrong-length', 'title': 'setWeights with 11 values for a 4x3 table fails and changes nothing', 'source': 'contract',
         'config': {'inputDim': 4, 'outputDim': 3, 'seed': 1}, 'setWeights': [list(range(11))], 'expect': {'error': 'INVALID_WEIGHTS'}},
        {'id': 'set-weights-two-arrays', 'title': 'setWeights with two arrays fails and changes nothing', 'source': 'keras',
         'config': {'inputDim': 2, 'outputDim': 2, 'seed': 1}, 'setWeights': [[1, 2, 3, 4], [1, 2, 3, 4]], 'expect': {'error': 'INVALID_WEIGHTS'}},
        {'id': 'set-weights-ragged-rows', 'title': 'setWeights with a short row fails and changes nothing', 'source': 'contract',
         'config': {'inputDim': 2, 'outputDim': 2, 'seed': 1}, 'setWeights': [[[1, 2], [3]]], 'expect': {'error': 'INVALID_WEIGHTS'}},
        {'id': 'set-weights-strings', 'title': 'setWeights with a string value fails and changes nothing', 'source': 'contract',
         'config': {'inputDim': 2, 'outputDim': 2, 'seed': 1}, 'setWeights': [[1, 2, 'x', 4]], 'expect': {'error': 'INVALID_WEIGHTS'}},
        {'id': 'set-weights-rows', 'title': 'setWeights with rows (K3-8: all ones) then lookup', 'source': 'K3-8',
         'config': {'inputDim': 3, 'outputDim': 4, 'seed': 1}, 'setWeights': [[[1.0] * 4] * 3], 'input': [[2, 0]],
         'expect': {'weights': [[1.0] * 4] * 3, 'output': [1.0] * 8}},
        {'id': 'set-weights-flat', 'title': 'setWeights with a flat array then lookup uses the new rows', 'source': 'contract',
         'config': {'inputDim': 3, 'outputDim': 2, 'seed': 1}, 'setWeights': [[0.5, 1.5, 2.5, 3.5, 4.5, 5.5]], 'input': [2, 1],
         'expect': {'weights': [[0.5, 1.5], [2.5, 3.5], [4.5, 5.5]], 'output': [4.5, 5.5, 2.5, 3.5]}},
        {'id': 'initial-weights', 'title': 'create with options.weights (Keras 3 weights=)', 'source': 'K3-8',
         'config': {'inputDim': 3, 'outputDim': 2}, 'initialWeights': [[[1, 2], [3, 4], [5, 6]]], 'input': [0, 2],
         'expect': {'weights': [[1, 2], [3, 4], [5, 6]], 'output': [1, 2, 5, 6]}},
        {'id': 'get-weights-is-a-copy', 'title': 'Mutating what getWeights returned does not change the layer', 'source': 'keras',
         'config': {'inputDim': 3, 'outputDim': 2, 'seed': 4}, 'expect': {'copy': True}},
        {'id': 'nan-weights-allowed', 'title': 'NaN weights are accepted (as in Keras) and looked up as NaN', 'source': 'keras',
         'config': {'inputDim': 2, 'outputDim': 2, 'seed': 1}, 'setWeights': [[1, {'$number': 'NaN'}, 3, 4]], 'input': [0],
         'expect': {'weights': [[1, {'$number': 'NaN'}], [3, 4]], 'output': [1, {'$number': 'NaN'}], 'nonFinite': 1}},
    ]
    write('weights.json', 'weights', 'getWeights/setWeights: Keras semantics; a failed setWeights changes nothing.', weights)

    # ---------------------------------------------------------------- training
    grad = [0.5, -1.0, 2.0, 0.25, 1.0, 1.0]  # for ids [[1, 3, 1]] and output_dim 2
    table = pattern_table(5, 2)
    after = [row[:] for row in table]
    lr = 0.1
    sums = {}
    for k, i in enumerate([1, 3, 1]):
        for c in range(2):
            sums[(i, c)] = sums.get((i, c), 0.0) + grad[k * 2 + c]
    for (i, c), g in sums.items():
        after[i][c] = f32(table[i][c] + f32(-lr * f32(g)))
    training = [
        {'id': 'apply-gradients-sgd', 'title': 'applyGradients: duplicate rows accumulate; untouched rows stay; w -= lr * g', 'source': 'TK-7',
         'config': {'inputDim': 5, 'outputDim': 2}, 'weights': table, 'input': [[1, 3, 1]], 'outputGradient': grad, 'learningRate': lr,
         'expect': {'weights': after}},
        {'id': 'apply-gradients-not-trainable', 'title': 'applyGradients on a non-trainable layer changes nothing', 'source': 'keras',
         'config': {'inputDim': 5, 'outputDim': 2, 'trainable': False}, 'weights': table, 'input': [[1, 3, 1]], 'outputGradient': grad,
         'learningRate': lr, 'expect': {'weights': table}},
    ]
    training += training_cases()
    write('training.json', 'training', 'The low-level training step (needs supports.training; otherwise UNSUPPORTED_FEATURE).', training)


if __name__ == '__main__':
    main()
