#!/usr/bin/env python3
"""PyTorch's SparseAdam as the oracle for the sparse ("lazy") Adam of @embedding-layer/core.

Writes conformance/fixtures/pytorch-sparse-adam.json: a small table, a few batches of indices
(with duplicates, and rows that sit idle for some steps, which is where sparse and dense Adam
part), mse targets, and the table after each torch.optim.SparseAdam step of
nn.Embedding(sparse=True) + F.mse_loss (mean over every element, which equals Keras's mse for
one output width). Keras's epsilon (1e-7) and a learning rate of 0.01 are passed to torch, so
the only difference from Keras's dense Adam is which rows update. Values are float32, written
as numbers (exactly representable) and as the hex of their bits.

Run with an interpreter that has torch (Debian: apt install python3-torch):
    /usr/bin/python3 conformance/scripts/make_pytorch_sparse_adam.py
Regenerating on the same torch gives the same file.
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

INPUT_DIM, OUTPUT_DIM = 12, 4
LEARNING_RATE, BETA_1, BETA_2, EPSILON = 0.01, 0.9, 0.999, 1e-7
# Row 0 repeats inside a batch (gradients add); rows 5-11 sit idle for some steps.
BATCHES = [
    [[1, 2, 3], [1, 4, 0]],
    [[5, 6, 7], [8, 5, 5]],
    [[1, 2, 9], [10, 11, 1]],
    [[3, 3, 3], [4, 0, 2]],
    [[6, 11, 0], [7, 9, 8]],
]


def hex32(x):
    return struct.pack(">f", x).hex()


def table_json(t):
    return [[float(v) for v in row] for row in t.tolist()]


def main():
    g = torch.Generator().manual_seed(1234)
    initial = (torch.rand(INPUT_DIM, OUTPUT_DIM, generator=g) * 0.1 - 0.05).float()
    targets = [(torch.rand(len(b), len(b[0]), OUTPUT_DIM, generator=g) * 2 - 1).float() for b in BATCHES]
    emb = torch.nn.Embedding(INPUT_DIM, OUTPUT_DIM, sparse=True)
    with torch.no_grad():
        emb.weight.copy_(initial)
    opt = torch.optim.SparseAdam(emb.parameters(), lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON)
    steps = []
    for batch, y in zip(BATCHES, targets):
        opt.zero_grad()
        out = emb(torch.tensor(batch, dtype=torch.int64))
        loss = F.mse_loss(out, y)
        loss.backward()
        opt.step()
        w = emb.weight.detach().clone()
        steps.append(
            {
                "indices": batch,
                "targets": [[[float(v) for v in r] for r in s] for s in y.tolist()],
                "loss": float(loss.item()),
                "weights": table_json(w),
                "weightsHex": [[hex32(v) for v in row] for row in w.tolist()],
            }
        )
    fixture = {
        "description": "torch.optim.SparseAdam on nn.Embedding(sparse=True) with F.mse_loss: the oracle of core's Adam { lazy: true }",
        "torch": torch.__version__,
        "inputDim": INPUT_DIM,
        "outputDim": OUTPUT_DIM,
        "optimizer": {"className": "Adam", "config": {"learning_rate": LEARNING_RATE, "beta_1": BETA_1, "beta_2": BETA_2, "epsilon": EPSILON, "lazy": True}},
        "initialWeights": table_json(initial),
        "steps": steps,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "pytorch-sparse-adam.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
