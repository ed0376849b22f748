#!/usr/bin/env python3
"""PyTorch 1.13 as the oracle of @embedding-layer/core's EmbeddingBag.

Writes conformance/fixtures/pytorch-bag.json (group "embedding-bag"): the forward pass of each
mode (sum, mean, max) on fixed-size (2-D) and ragged (1-D + offsets) bags, include_last_offset,
empty bags, per_sample_weights, padding_idx (left out of the bag and of the mean's count),
max_norm (rows renormalized in the table before pooling); torch's errors; and the weights
after SGD steps on F.mse_loss for each mode (max: the first row wins a tie), with
per_sample_weights, padding_idx, max_norm, scale_grad_by_freq, momentum and from_pretrained.

Every expected value is computed by torch in float64 from float32-representable tables,
targets and weights (the layer stores float32). Each case asserts that its feature moves the
result by at least 1000 times the suite's tolerance (1e-6 relative for a forward, 1e-5 for
training).

One documented divergence: torch 1.13's CPU backward of embedding_bag with
scale_grad_by_freq divides a row's gradient by the count of another row when counts differ
(pytorch/pytorch#190063, fixed by #190264; CUDA and nn.Embedding divide by the row's own
count). The scale_grad_by_freq case is therefore computed by torch as F.embedding(...,
scale_grad_by_freq=True) followed by the bag pooling in torch ops; the script checks that this
composition equals F.embedding_bag where the bug cannot show (equal counts), and that the
fixture's input is one where it does show.

Run with Debian's interpreter (apt-get install -y python3-torch):
    /usr/bin/python3 conformance/scripts/make_pytorch_bag_fixtures.py
Regenerating on the same torch gives a byte-identical file.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
DT = torch.float64
FORWARD_TOL = 1e-6
TRAIN_TOL = 1e-5


def f32(t):
    return t.to(torch.float32).to(DT)


def rows(t):
    return [[float(v) for v in r] for r in t.tolist()]


def flat(t):
    return [float(v) for v in t.flatten().tolist()]


def seeded(seed, *shape, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return f32((torch.rand(*shape, generator=g, dtype=DT) * 2 - 1) * scale)


def moves(a, b, tol, what):
    """The feature changes the result by at least 1000x the tolerance."""
    if a.shape != b.shape:
        return
    diff = float((a - b).abs().max())
    need = 1000 * tol * (1 + float(b.abs().max()))
    assert diff >= need, f"{what}: the feature moves the result by {diff}, less than {need}"


def bag(x, w, offsets=None, **kw):
    xt = torch.tensor(x, dtype=torch.int64)
    ot = None if offsets is None else torch.tensor(offsets, dtype=torch.int64)
    psw = kw.pop("per_sample_weights", None)
    pt = None if psw is None else torch.tensor(psw, dtype=DT)
    return F.embedding_bag(xt, w, ot, per_sample_weights=pt, **kw)


def main():
    cases = []
    d = 3
    base = seeded(1, 8, d)

    def forward_case(cid, title, config, x, offsets=None, psw=None, weights=base, off=None):
        """`off`: the kwargs with the feature switched off, whose output must differ."""
        kw = {"mode": config.get("mode", "mean")}
        for key, arg in (("paddingIdx", "padding_idx"), ("maxNorm", "max_norm"), ("normType", "norm_type"), ("includeLastOffset", "include_last_offset")):
            if key in config:
                kw[arg] = config[key]
        table = weights.clone()
        out = bag(x, table, offsets, per_sample_weights=psw, **kw)
        if off is not None:
            other = bag(x, weights.clone(), offsets, per_sample_weights=psw if "per_sample_weights" not in off else off["per_sample_weights"],
                        **{**kw, **{k: v for k, v in off.items() if k != "per_sample_weights"}})
            moves(out, other, FORWARD_TOL, cid)
        case = {
            "id": cid,
            "title": title,
            "kind": "forward",
            "source": f"F.embedding_bag(input, weight, offsets, {', '.join(f'{k}={v}' for k, v in kw.items())}{', per_sample_weights' if psw else ''}) on float64",
            "config": {"inputDim": weights.shape[0], "outputDim": weights.shape[1], **config},
            "weights": rows(weights),
            "input": x,
            "expect": {"output": flat(out), "shape": list(out.shape), "weights": rows(table)},
        }
        if offsets is not None:
            case["offsets"] = offsets
        if psw is not None:
            case["perSampleWeights"] = psw
        cases.append(case)
        return out

    fixed = [[1, 2, 2, 5], [7, 0, 3, 3], [4, 4, 4, 6]]
    ragged = [1, 2, 2, 5, 7, 0, 3, 4, 6, 6]
    offsets = [0, 3, 3, 7]  # bags of 3, 0 (empty), 4 and 3 indices
    outs = {}
    for mode in ("sum", "mean", "max"):
        outs[mode] = forward_case(f"{mode}-fixed", f"mode '{mode}' on 2-D input: 3 bags of 4 indices", {"mode": mode}, fixed)
        forward_case(f"{mode}-ragged", f"mode '{mode}' on 1-D input with offsets [0, 3, 3, 7]: the empty bag gives zeros", {"mode": mode}, ragged, offsets)
    moves(outs["sum"], outs["mean"], FORWARD_TOL, "sum vs mean")
    moves(outs["max"], outs["mean"], FORWARD_TOL, "max vs mean")
    # include_last_offset: offsets end with len(input) (CSR): 3 bags instead of 4.
    for mode in ("sum", "mean", "max"):
        forward_case(f"{mode}-include-last-offset", f"mode '{mode}', include_last_offset: offsets [0, 3, 3, 7, 10] are 4 bags, the last ending at 10",
                     {"mode": mode, "includeLastOffset": True}, ragged, offsets + [len(ragged)])
    # per_sample_weights (sum only).
    psw = [float(v) for v in seeded(2, len(ragged), scale=2.0).tolist()]
    forward_case("sum-per-sample-weights", "mode 'sum' with per_sample_weights: each row times its weight",
                 {"mode": "sum"}, ragged, offsets, psw, off={"per_sample_weights": None})
    psw2 = [[float(v) for v in r] for r in seeded(3, 3, 4, scale=2.0).tolist()]
    forward_case("sum-per-sample-weights-fixed", "mode 'sum' on 2-D input with per_sample_weights shaped like it",
                 {"mode": "sum"}, fixed, None, psw2, off={"per_sample_weights": None})
    # padding_idx: left out of the bag, of the mean's count and of the max; a bag of padding only is zeros.
    padded = [2, 0, 2, 5, 0, 0, 3, 0, 6, 6]
    pad_offsets = [0, 4, 6, 8]  # [2, 0, 2, 5], [0, 0] (padding only), [3, 0], [6, 6]
    for mode in ("sum", "mean", "max"):
        forward_case(f"{mode}-padding-idx", f"mode '{mode}', padding_idx 0 (a non-zero given row): left out of each bag{' and of the count' if mode == 'mean' else ''}; a bag of padding only is zeros",
                     {"mode": mode, "paddingIdx": 0}, padded, pad_offsets, off={"padding_idx": None})
    forward_case("mean-padding-idx-negative", "mode 'mean', padding_idx -2 (row 6) on 2-D input",
                 {"mode": "mean", "paddingIdx": -2}, fixed, off={"padding_idx": None})
    # max_norm: looked-up rows over the norm are renormalized in the table (torch.embedding_renorm_), then pooled.
    big = f32(base * 1.5)
    norms = torch.linalg.vector_norm(big, dim=1)
    assert bool((norms[[1, 2, 5]] > 1.0).any()) and bool((norms < 1.0).any())
    for n in norms.tolist():
        assert abs(n - 1.0) > 1e-3
    for mode in ("sum", "mean", "max"):
        forward_case(f"{mode}-max-norm", f"mode '{mode}', max_norm 1.0: the looked-up rows over it are rescaled in the table before pooling",
                     {"mode": mode, "maxNorm": 1.0}, ragged, offsets, weights=big, off={"max_norm": None})
    forward_case("mean-max-norm-p1-padding", "mode 'mean', max_norm 1.2, norm_type 1, padding_idx 0: the padding row is renormalized too (torch renorms every input index) but not pooled",
                 {"mode": "mean", "maxNorm": 1.2, "normType": 1, "paddingIdx": 0}, padded, pad_offsets, weights=big, off={"max_norm": None})

    # Errors torch raises (and two it does not check, noted in the source).
    def error_case(cid, title, source, config, x, offsets=None, psw=None, raises=True):
        if raises:
            try:
                bag(x, base.clone(), offsets, per_sample_weights=psw, mode=config.get("mode", "mean"), include_last_offset=config.get("includeLastOffset", False))
                raise RuntimeError(f"torch accepted {cid}")
            except (RuntimeError, ValueError, NotImplementedError, IndexError) as e:
                if "torch accepted" in str(e):
                    raise
        case = {"id": cid, "title": title, "kind": "error", "source": source, "config": {"inputDim": 8, "outputDim": d, **config},
                "weights": rows(base), "input": x, "expect": {"error": "SHAPE_MISMATCH" if cid != "per-sample-weights-mean" else "INVALID_CONFIG"}}
        if cid == "index-out-of-range":
            case["expect"]["error"] = "INVALID_INDEX"
        if offsets is not None:
            case["offsets"] = offsets
        if psw is not None:
            case["perSampleWeights"] = psw
        cases.append(case)

    error_case("offsets-first-not-zero", "offsets[0] = 1 is refused", 'torch: "offsets[0] has to be 0"', {"mode": "sum"}, ragged, [1, 4])
    error_case("offsets-past-end", "an offset past the end of the indices is refused", "torch: \"offsets[-1] can not be greater than input's length\"", {"mode": "sum"}, ragged, [0, 4, 11])
    error_case("offsets-decreasing", "decreasing offsets are refused (torch 1.13's CPU kernel does not check them and pools garbage)",
               "torch 1.13 does not raise; its docs define bags as [offsets[i], offsets[i+1])", {"mode": "sum"}, ragged, [0, 5, 3], raises=False)
    error_case("offsets-with-2d-input", "offsets with 2-D input are refused", 'torch: "if input is 2D, then offsets has to be None"', {"mode": "sum"}, fixed, [0, 1])
    error_case("missing-offsets", "1-D input without offsets is refused", 'torch: "offsets has to be a 1D Tensor but got None"', {"mode": "sum"}, ragged)
    error_case("include-last-offset-short", "include_last_offset with a last offset short of the input's length is refused (torch's CSR rule; torch 1.13 corrupts memory in mean/max)",
               "torch docs: the last element is equivalent to the size of indices", {"mode": "sum", "includeLastOffset": True}, ragged, [0, 4, 8], raises=False)
    error_case("per-sample-weights-mean", "per_sample_weights with mode 'mean' are refused", "torch: \"per_sample_weights is only supported for mode='sum'\"",
               {"mode": "mean"}, ragged, offsets, [1.0] * len(ragged))
    error_case("per-sample-weights-length", "per_sample_weights of another length than the input are refused", 'torch: "must have the same shape as the input"',
               {"mode": "sum"}, ragged, offsets, [1.0] * (len(ragged) - 1))
    error_case("index-out-of-range", "an index >= num_embeddings is refused", 'torch: "Expected idx >= 0 && idx < num_embeddings"', {"mode": "sum"}, [1, 8], [0])
    for cid, config, message in (("max-scale-grad-by-freq", {"mode": "max", "scaleGradByFreq": True}, "max mode does not support scaling the gradient by the frequency"),
                                 ("unknown-mode", {"mode": "median"}, "mode has to be one of sum, mean or max")):
        try:
            emb = torch.nn.EmbeddingBag(8, d, **{"mode": config["mode"], "scale_grad_by_freq": config.get("scaleGradByFreq", False)})
            emb(torch.tensor([[1, 2]]))
            raise RuntimeError("torch accepted " + cid)
        except ValueError as e:
            assert message in str(e), str(e)
        cases.append({"id": cid, "title": f"{config} is refused before any table exists", "kind": "configError", "source": f'torch: "{message}"',
                      "config": {"inputDim": 8, "outputDim": d, **config}, "expect": {"error": "INVALID_CONFIG"}})

    # Training: SGD on F.mse_loss of the pooled output (Keras's mse: the mean over every element).
    tbase = seeded(21, 7, d, scale=0.8)

    def make_batches(seed, inputs, include_last_offset=False):
        out = []
        for k, (x, offs, psw_) in enumerate(inputs):
            b = len(x) if offs is None else len(offs) - (1 if include_last_offset else 0)
            entry = {"input": x, "target": flat(seeded(seed + k, b, d))}
            if offs is not None:
                entry["offsets"] = offs
            if psw_ is not None:
                entry["perSampleWeights"] = psw_
            out.append(entry)
        return out

    def train(weights, batches, opt_kw, freeze=False, **kw):
        emb = torch.nn.EmbeddingBag.from_pretrained(weights.clone(), freeze=freeze, **kw)
        params = [p for p in emb.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, **opt_kw) if params else None
        losses = []
        for b in batches:
            if opt:
                opt.zero_grad()
            x = torch.tensor(b["input"], dtype=torch.int64)
            offs = torch.tensor(b["offsets"], dtype=torch.int64) if "offsets" in b else None
            pw = torch.tensor(b["perSampleWeights"], dtype=DT) if "perSampleWeights" in b else None
            out = emb(x, offs, per_sample_weights=pw)
            loss = F.mse_loss(out, torch.tensor(b["target"], dtype=DT).reshape(out.shape))
            if opt:
                loss.backward()
                opt.step()
            losses.append(float(loss.item()))
        return emb.weight.detach().clone(), losses

    ragged_inputs = [([0, 2, 2, 5, 1, 4, 4, 4], [0, 3, 3, 5], None), ([6, 1, 2, 0, 3, 3], [0, 2, 6], None), ([2, 2, 5, 5, 6], [0, 1, 3], None)]
    fixed_inputs = [([[0, 2, 2], [3, 0, 2]], None, None), ([[1, 0, 4], [4, 4, 6]], None, None), ([[2, 0, 5], [2, 2, 2]], None, None)]

    def training_case(cid, title, mode, inputs, kwargs=None, config=None, opt_kw=None, other=None, weights=tbase, seed=100):
        kwargs = kwargs or {}
        opt_kw = opt_kw or {"lr": 0.5}
        batches = make_batches(seed, inputs, kwargs.get("include_last_offset", False))
        final, losses = train(weights, batches, opt_kw, mode=mode, **kwargs)
        if other is not None:
            other = dict(other)
            ref, _ = train(weights, batches, other.pop("opt", opt_kw), **other)
            moves(final, ref, TRAIN_TOL, cid)
        moves(final, weights, TRAIN_TOL, cid + " (vs the initial table)")
        optimizer = {"className": "SGD", "config": {"learning_rate": opt_kw["lr"], **({"momentum": opt_kw["momentum"]} if "momentum" in opt_kw else {})}}
        cases.append({
            "id": cid,
            "title": title,
            "kind": "training",
            "source": f"nn.EmbeddingBag.from_pretrained(w, freeze=False, mode='{mode}'{''.join(f', {k}={v}' for k, v in kwargs.items())}), SGD({', '.join(f'{k}={v}' for k, v in opt_kw.items())}), F.mse_loss, float64",
            "config": {"inputDim": weights.shape[0], "outputDim": d, "mode": mode, **(config or {})},
            "weights": rows(weights),
            "compile": {"optimizer": optimizer, "loss": "mse"},
            "batches": batches,
            "expect": {"losses": losses, "weights": rows(final)},
        })
        return final

    training_case("training-sum-ragged", "mode 'sum' on ragged bags (an empty one): each row gets its bag's gradient", "sum", ragged_inputs, other={"mode": "mean"})
    training_case("training-mean-ragged", "mode 'mean' on ragged bags: each row gets its bag's gradient / the bag's size", "mean", ragged_inputs, other={"mode": "sum"})
    training_case("training-max-fixed", "mode 'max' on 2-D bags: each column's gradient goes to the row that gave the max", "max", fixed_inputs, other={"mode": "mean"})
    # Ties: rows 1 and 3 are equal, so in a bag holding both the first position wins each column.
    tied = tbase.clone()
    tied[3] = tied[1]
    tie_inputs = [([[3, 1, 0], [1, 3, 5]], None, None), ([[1, 3, 3], [6, 3, 1]], None, None), ([[3, 1, 2], [2, 1, 3]], None, None)]
    tied_final = training_case("training-max-ties", "mode 'max' with equal rows 1 and 3: the first position in the bag gets the gradient (torch's strict >)", "max", tie_inputs, weights=tied)
    assert not torch.equal(tied_final[1], tied_final[3]), "the tie rule has no effect"
    psw_inputs = [(x, o, [float(v) for v in seeded(40 + k, len(x), scale=2.0).tolist()]) for k, (x, o, _) in enumerate(ragged_inputs)]
    sum_plain, _ = train(tbase, make_batches(100, ragged_inputs), {"lr": 0.5}, mode="sum")
    psw_final = training_case("training-sum-per-sample-weights", "mode 'sum' with per_sample_weights: each row's gradient is scaled by its weight", "sum", psw_inputs)
    moves(psw_final, sum_plain, TRAIN_TOL, "per_sample_weights in training")
    training_case("training-mean-padding-idx", "mode 'mean', padding_idx 0 (non-zero row): row 0 never moves and is not counted", "mean", fixed_inputs,
                  {"padding_idx": 0}, {"paddingIdx": 0}, other={"mode": "mean"})
    training_case("training-max-padding-idx", "mode 'max', padding_idx 2: row 2 is never the max and never moves", "max", fixed_inputs,
                  {"padding_idx": 2}, {"paddingIdx": 2}, other={"mode": "max"})
    training_case("training-mean-max-norm", "mode 'mean', max_norm 0.7: rows renormalized at every forward of training", "mean", ragged_inputs,
                  {"max_norm": 0.7}, {"maxNorm": 0.7}, other={"mode": "mean"})
    training_case("training-sum-include-last-offset", "mode 'sum', include_last_offset: offsets end with the input's length", "sum",
                  [(x, o + [len(x)], None) for x, o, _ in ragged_inputs], {"include_last_offset": True}, {"includeLastOffset": True})
    training_case("training-mean-momentum", "mode 'mean', SGD with momentum 0.9 (Keras's and torch's momentum agree for a constant learning rate)", "mean",
                  ragged_inputs, opt_kw={"lr": 0.5, "momentum": 0.9}, other={"mode": "mean", "opt": {"lr": 0.5}})

    # scale_grad_by_freq: torch's F.embedding (its own count per row) then the pooling in torch ops.
    def composed(weights, batches, pad):
        w = weights.clone().requires_grad_(True)
        opt = torch.optim.SGD([w], lr=0.5)
        losses = []
        for b in batches:
            opt.zero_grad()
            x = torch.tensor(b["input"], dtype=torch.int64).flatten()
            shape = torch.tensor(b["input"]).shape
            offs = b.get("offsets", list(range(0, x.numel(), shape[-1])) if len(shape) == 2 else None)
            looked = F.embedding(x, w, padding_idx=pad, scale_grad_by_freq=True)
            ends = offs[1:] + [x.numel()]
            pooled = []
            for s, e in zip(offs, ends):
                keep = [p for p in range(s, e) if int(x[p]) != pad]
                pooled.append(looked[keep].mean(0) if keep else torch.zeros(d, dtype=DT))
            out = torch.stack(pooled)
            loss = F.mse_loss(out, torch.tensor(b["target"], dtype=DT).reshape(out.shape))
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        return w.detach().clone(), losses

    # Where every non-padding index occurs equally often, the bug cannot show: the composition is F.embedding_bag.
    even = make_batches(300, [([1, 1, 2, 2, 3, 0, 3], [0, 2, 5], None)])
    via_bag, bag_losses = train(tbase, even, {"lr": 0.5}, mode="mean", padding_idx=0, scale_grad_by_freq=True)
    via_ops, ops_losses = composed(tbase, even, 0)
    assert torch.allclose(via_bag, via_ops, rtol=0, atol=1e-12) and max(abs(a - b) for a, b in zip(bag_losses, ops_losses)) < 1e-12
    sgbf_inputs = make_batches(200, [([1, 1, 3, 0, 2, 5, 5, 5], [0, 4, 5], None), ([6, 2, 2, 0, 1], [0, 3], None), ([3, 3, 4, 4, 4, 6], [0, 2], None)])
    sgbf_final, sgbf_losses = composed(tbase, sgbf_inputs, 0)
    buggy, _ = train(tbase, sgbf_inputs, {"lr": 0.5}, mode="mean", padding_idx=0, scale_grad_by_freq=True)
    plain, _ = train(tbase, sgbf_inputs, {"lr": 0.5}, mode="mean", padding_idx=0)
    assert not torch.allclose(buggy, sgbf_final, rtol=0, atol=1e-9), "this input does not show torch 1.13's CPU count bug"
    moves(sgbf_final, plain, TRAIN_TOL, "scale_grad_by_freq")
    cases.append({
        "id": "training-mean-scale-grad-by-freq",
        "title": "mode 'mean', padding_idx 0, scale_grad_by_freq: each row's gradient divided by its own count in the batch",
        "kind": "training",
        "source": "F.embedding(x, w, padding_idx=0, scale_grad_by_freq=True), then each bag's mean in torch ops, SGD(lr=0.5), F.mse_loss, float64 (torch 1.13's CPU embedding_bag backward divides by another row's count here: pytorch/pytorch#190063)",
        "config": {"inputDim": 7, "outputDim": d, "mode": "mean", "paddingIdx": 0, "scaleGradByFreq": True},
        "weights": rows(tbase),
        "compile": {"optimizer": {"className": "SGD", "config": {"learning_rate": 0.5}}, "loss": "mse"},
        "batches": sgbf_inputs,
        "expect": {"losses": sgbf_losses, "weights": rows(sgbf_final)},
    })

    # from_pretrained: frozen by default; thawed with padding_idx keeps the row's given values.
    batches = make_batches(100, ragged_inputs)
    frozen, losses = train(tbase, batches, {"lr": 0.5}, freeze=True, mode="sum")
    assert torch.equal(frozen, tbase)
    cases.append({
        "id": "from-pretrained-frozen", "title": "EmbeddingBag.from_pretrained (freeze=True by default, mode 'sum'): training leaves the table unchanged, losses as torch",
        "kind": "pretrained", "source": "nn.EmbeddingBag.from_pretrained(w, mode='sum'), F.mse_loss, float64",
        "weights": rows(tbase), "options": {"mode": "sum"},
        "compile": {"optimizer": {"className": "SGD", "config": {"learning_rate": 0.5}}, "loss": "mse"},
        "batches": batches, "expect": {"losses": losses, "weights": rows(frozen), "trainable": False},
    })
    thawed, losses = train(tbase, batches, {"lr": 0.5}, freeze=False, mode="mean", padding_idx=-1)
    assert torch.equal(thawed[6], tbase[6])
    cases.append({
        "id": "from-pretrained-thawed-padding", "title": "EmbeddingBag.from_pretrained(freeze=False, mode 'mean', padding_idx=-1): trains, row 6 keeps its given values",
        "kind": "pretrained", "source": "nn.EmbeddingBag.from_pretrained(w, freeze=False, mode='mean', padding_idx=-1), SGD(lr=0.5), F.mse_loss, float64",
        "weights": rows(tbase), "options": {"freeze": False, "mode": "mean", "paddingIdx": -1},
        "compile": {"optimizer": {"className": "SGD", "config": {"learning_rate": 0.5}}, "loss": "mse"},
        "batches": batches, "expect": {"losses": losses, "weights": rows(thawed), "trainable": True},
    })

    fixture = {
        "group": "embedding-bag",
        "description": "PyTorch's nn.EmbeddingBag (sum, mean, max; offsets, include_last_offset, per_sample_weights, padding_idx, max_norm; training), computed by torch in float64 (written by scripts/make_pytorch_bag_fixtures.py)",
        "torch": torch.__version__,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "pytorch-bag.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path), len(cases), "cases")


if __name__ == "__main__":
    main()
