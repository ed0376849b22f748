#!/usr/bin/env python3
"""PyTorch 1.13 as the oracle of the PyTorch arguments of @embedding-layer/core's Embedding.

Writes conformance/fixtures/pytorch.json (group "pytorch"): padding_idx (negative, normalized;
the zero row at initialization; no gradient), max_norm / norm_type (torch.embedding_renorm_ at
lookup and during training), scale_grad_by_freq, and nn.Embedding.from_pretrained with freeze.

Every expected value is computed by torch itself, in float64: the tables and targets are
float32 numbers (so the layer, which stores float32, starts from exactly the same values), then
nn.Embedding / F.embedding run on float64 tensors. The layer computes in float32, so the suite
compares within a relative tolerance. Each case asserts that its feature changes the result
(rows really exceed max_norm, the padding row would have moved without padding_idx, ...). The
lookup cases keep every norm at least 1e-3 * max_norm away from it; in training a renormalized row
can sit within float32 rounding of max_norm, where a flip changes the row by about
|norm - max_norm| / norm (the scale is continuous there), far inside the tolerance.

Run with Debian's interpreter (apt-get install -y python3-torch):
    /usr/bin/python3 conformance/scripts/make_pytorch_fixtures.py
Regenerating on the same torch gives a byte-identical file.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
DT = torch.float64


def f32(t):
    """Values rounded to float32, held as float64."""
    return t.to(torch.float32).to(DT)


def rows(t):
    return [[float(v) for v in r] for r in t.tolist()]


def seeded(seed, *shape, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return f32((torch.rand(*shape, generator=g, dtype=DT) * 2 - 1) * scale)


def norms(w, p):
    return torch.linalg.vector_norm(w, ord=p, dim=1)


def assert_margin(w, ids, max_norm, p):
    for n in norms(w[sorted(set(ids))], p).tolist():
        assert abs(n - max_norm) > 1e-3 * max_norm, f"a norm {n} is too close to max_norm {max_norm}"


def flat_ids(batch):
    out = []
    for x in batch:
        out.extend(flat_ids(x) if isinstance(x, list) else [x])
    return out


def train(weights, batches, lr, **kwargs):
    """SGD (w -= lr * g) on F.mse_loss (the mean over every element: Keras's mse) with nn.Embedding's kwargs."""
    emb = torch.nn.Embedding.from_pretrained(weights.clone(), freeze=kwargs.pop("freeze", False), **kwargs)
    params = [p for p in emb.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr) if params else None
    losses = []
    for b in batches:
        if opt:
            opt.zero_grad()
        out = emb(torch.tensor(b["input"], dtype=torch.int64))
        y = torch.tensor(b["target"], dtype=DT).reshape(out.shape)
        loss = F.mse_loss(out, y)
        if opt:
            loss.backward()
            opt.step()
        losses.append(float(loss.item()))
    return emb.weight.detach().clone(), losses


def make_batches(seed, inputs, d):
    out = []
    for k, x in enumerate(inputs):
        n = len(flat_ids(x))
        out.append({"input": x, "target": [float(v) for v in seeded(seed + k, n * d).tolist()]})
    return out


def main():
    cases = []

    # padding_idx: negative counts from the end; the row is zero after initialization.
    emb = torch.nn.Embedding(6, 3, padding_idx=-2)
    assert emb.padding_idx == 4 and bool((emb.weight[4] == 0).all()) and bool((emb.weight[3] != 0).all())
    cases.append({
        "id": "padding-idx-init",
        "title": "padding_idx -2 of 6 rows is row 4, zeros after initialization; the other rows are the initializer's",
        "kind": "init",
        "source": "torch.nn.Embedding(6, 3, padding_idx=-2): padding_idx == 4, weight[4] == 0",
        "config": {"inputDim": 6, "outputDim": 3, "paddingIdx": -2, "seed": 7},
        "expect": {"paddingRow": emb.padding_idx},
    })
    for bad in (6, -7):
        try:
            torch.nn.Embedding(6, 3, padding_idx=bad)
            raise RuntimeError("torch accepted padding_idx %d" % bad)
        except AssertionError as e:
            assert "Padding_idx must be within num_embeddings" in str(e)
        cases.append({
            "id": f"padding-idx-out-of-range-{bad}",
            "title": f"padding_idx {bad} for 6 rows is refused before any table exists (torch: Padding_idx must be within num_embeddings)",
            "kind": "configError",
            "source": f"torch.nn.Embedding(6, 3, padding_idx={bad}) raises AssertionError",
            "config": {"inputDim": 6, "outputDim": 3, "paddingIdx": bad},
            "expect": {"error": "INVALID_CONFIG"},
        })

    # max_norm at lookup: looked-up rows over the norm are rescaled in the table; others are not.
    # The last case has rows of norm ~1e-3, where torch's epsilon moves the scale by ~1e-4 (relative).
    for p, max_norm, cid, scale in (
        (2.0, 1.0, "max-norm-lookup", 1.0),
        (1.0, 1.5, "max-norm-lookup-p1", 1.0),
        (math.inf, 0.6, "max-norm-lookup-inf", 1.0),
        (3.0, 0.8, "max-norm-lookup-p3", 1.0),
        (2.0, 1e-3, "max-norm-lookup-small-rows", 1e-3),
    ):
        w = seeded(11, 8, 4, scale=scale)
        w[5] = f32(w[5] * 0.1)  # a looked-up row under the norm
        w[2] = f32(w[2] * (1.005 * max_norm / float(norms(w[2:3], p)[0])))  # a looked-up row just over it (0.5%)
        x = [[1, 5, 1], [7, 2, 5]]
        ids = flat_ids(x)
        assert_margin(w, list(range(8)), max_norm, p)
        n = norms(w, p)
        assert 1.002 * max_norm < float(n[2]) < 1.008 * max_norm
        assert bool((n[[1, 2, 7]] > max_norm).all()) and float(n[5]) < max_norm and float(n[3]) > max_norm
        table = w.clone()
        out = F.embedding(torch.tensor(x), table, max_norm=max_norm, norm_type=p)
        assert not torch.equal(table, w) and torch.equal(table[3], w[3])
        if scale < 1:
            # torch's epsilon shows: the rescaled rows are short of max_norm by more than 1e-5 relative.
            assert float((max_norm - norms(table[[1, 2, 7]], p)).min()) > 1e-5 * max_norm
        config = {"inputDim": 8, "outputDim": 4, "maxNorm": max_norm}
        if p != 2.0:
            config["normType"] = {"$number": "Infinity"} if p == math.inf else p
        cases.append({
            "id": cid,
            "title": f"max_norm {max_norm}, norm_type {p}{' (rows of norm ~1e-3, where the 1e-7 of the scale shows)' if scale < 1 else ''}: looked-up rows 1, 2 (0.5% over), 7 are rescaled in the table, row 5 (under) and row 3 (not looked up) are not",
            "kind": "lookup",
            "source": f"F.embedding(x, w, max_norm={max_norm}, norm_type={p}) on float64 (torch.embedding_renorm_)",
            "config": config,
            "weights": rows(w),
            "input": x,
            "expect": {"output": [float(v) for v in out.flatten().tolist()], "shape": list(out.shape), "weights": rows(table)},
        })

    # Training: SGD on mse, 3 steps.
    base = seeded(21, 7, 3, scale=0.8)
    inputs = [[[0, 2, 2], [3, 0, 2]], [[1, 0, 4], [4, 4, 6]], [[2, 0, 5], [2, 2, 2]]]
    batches = make_batches(100, inputs, 3)
    plain, _ = train(base, batches, 0.5)

    def training_case(cid, title, kwargs, config, check):
        final, losses = train(base, batches, 0.5, **dict(kwargs))
        check(final)
        cases.append({
            "id": cid,
            "title": title,
            "kind": "training",
            "source": f"nn.Embedding.from_pretrained(w, freeze=False, {', '.join(f'{k}={v}' for k, v in kwargs.items())}), SGD(lr=0.5), F.mse_loss, float64",
            "config": {"inputDim": 7, "outputDim": 3, **config},
            "weights": rows(base),
            "compile": {"optimizer": {"className": "SGD", "config": {"learning_rate": 0.5}}, "loss": "mse"},
            "batches": batches,
            "expect": {"losses": losses, "weights": rows(final)},
        })

    def pad_check(final):
        assert torch.equal(final[0], base[0]) and not torch.equal(plain[0], base[0])

    training_case("training-padding-idx", "padding_idx 0 (a non-zero given row) never moves; SGD moves it without padding_idx",
                  {"padding_idx": 0}, {"paddingIdx": 0}, pad_check)
    training_case("training-padding-idx-negative-mask-zero", "padding_idx -7 (row 0) with mask_zero: the row never moves",
                  {"padding_idx": -7}, {"paddingIdx": -7, "maskZero": True}, pad_check)
    training_case("training-scale-grad-by-freq", "scale_grad_by_freq: each row's gradient divided by its count in the batch",
                  {"scale_grad_by_freq": True}, {"scaleGradByFreq": True},
                  lambda final: None if not torch.allclose(final, plain) else (_ for _ in ()).throw(AssertionError("no effect")))
    assert_margin(base, range(7), 0.7, 2.0)

    def renorm_check(final):
        assert not torch.allclose(final, plain)

    training_case("training-max-norm", "max_norm 0.7: rows are renormalized at every forward of training",
                  {"max_norm": 0.7}, {"maxNorm": 0.7}, renorm_check)
    def all_check(final):
        # Row 2 is only renormalized (no gradient): the same direction as given, norm max_norm.
        assert torch.allclose(final[2] / final[2].norm(), base[2] / base[2].norm(), atol=1e-12) and float(base[2].norm()) > 0.7
        assert not torch.allclose(plain[2] / plain[2].norm(), base[2] / base[2].norm())

    training_case("training-all", "padding_idx 2, max_norm 0.7, scale_grad_by_freq together",
                  {"padding_idx": 2, "max_norm": 0.7, "scale_grad_by_freq": True},
                  {"paddingIdx": 2, "maxNorm": 0.7, "scaleGradByFreq": True},
                  lambda final: all_check(final))

    # from_pretrained: frozen by default (the table does not move), freeze=False trains.
    frozen, losses = train(base, batches, 0.5, freeze=True)
    assert torch.equal(frozen, base) and not torch.equal(plain, base)
    cases.append({
        "id": "from-pretrained-frozen",
        "title": "from_pretrained (freeze=True by default): fit leaves the table unchanged, losses as torch",
        "kind": "pretrained",
        "source": "nn.Embedding.from_pretrained(w) (requires_grad False), F.mse_loss, float64",
        "weights": rows(base),
        "options": {},
        "compile": {"optimizer": {"className": "SGD", "config": {"learning_rate": 0.5}}, "loss": "mse"},
        "batches": batches,
        "expect": {"losses": losses, "weights": rows(frozen), "trainable": False},
    })
    thawed, losses = train(base, batches, 0.5, freeze=False, padding_idx=-1)
    cases.append({
        "id": "from-pretrained-thawed-padding",
        "title": "from_pretrained(freeze=False, padding_idx=-1): trains, row 6 keeps its given values",
        "kind": "pretrained",
        "source": "nn.Embedding.from_pretrained(w, freeze=False, padding_idx=-1), SGD(lr=0.5), F.mse_loss, float64",
        "weights": rows(base),
        "options": {"freeze": False, "paddingIdx": -1},
        "compile": {"optimizer": {"className": "SGD", "config": {"learning_rate": 0.5}}, "loss": "mse"},
        "batches": batches,
        "expect": {"losses": losses, "weights": rows(thawed), "trainable": True},
    })

    # getConfig()/fromConfig(): the arguments under their PyTorch names, only when set.
    cases.append({
        "id": "config-round-trip",
        "title": "getConfig() writes padding_idx (normalized), max_norm, norm_type and scale_grad_by_freq; fromConfig keeps them",
        "kind": "roundTrip",
        "source": "nn.Embedding(10, 4, padding_idx=-1, max_norm=2.5, norm_type=1.0, scale_grad_by_freq=True).padding_idx == 9",
        "config": {"inputDim": 10, "outputDim": 4, "paddingIdx": -1, "maxNorm": 2.5, "normType": 1, "scaleGradByFreq": True, "seed": 3},
        "expect": {"keys": {"padding_idx": torch.nn.Embedding(10, 4, padding_idx=-1).padding_idx, "max_norm": 2.5, "norm_type": 1, "scale_grad_by_freq": True}},
    })

    fixture = {
        "group": "pytorch",
        "description": "PyTorch's padding_idx, max_norm / norm_type, scale_grad_by_freq and from_pretrained, computed by torch in float64 (written by scripts/make_pytorch_fixtures.py)",
        "torch": torch.__version__,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "pytorch.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
