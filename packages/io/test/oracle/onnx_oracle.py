#!/usr/bin/python3
"""An independent oracle for the ONNX files @embedding-layer/io writes with the table inside the
model (streamed into raw_data): each file is loaded with Python's `onnx` (Debian's python3-onnx),
checked with onnx.checker (full_check: shape inference too), and its `embeddings` initializer is
compared bit for bit with the table's formula computed here in numpy, (r mod 65521) * 8 + c) / 64.
Nothing in the package depends on this: onnx-oracle.mjs writes the files, runs this script and
checks in the results (onnx-oracle.json), with each file's sha256 computed here, which the
vitest suite compares with what the writer makes today.

    /usr/bin/python3 onnx_oracle.py MANIFEST.json   # prints a JSON list, one entry per case
"""
import hashlib
import json
import sys

import numpy as np
import onnx
from onnx import checker, numpy_helper


def formula(rows, cols):
    r = np.arange(rows, dtype=np.float64)[:, None]
    c = np.arange(cols, dtype=np.float64)[None, :]
    return (((r % 65521) * 8 + c) / 64).astype(np.float32)


def check(case):
    path = case["path"]
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    model = onnx.load(path)
    try:
        checker.check_model(model, full_check=True)
        verdict = "ok"
    except Exception as error:  # the verdict is the result, whatever it is
        verdict = f"{type(error).__name__}: {error}"
    tables = [t for t in model.graph.initializer if t.name == "embeddings"]
    table = numpy_helper.to_array(tables[0]) if len(tables) == 1 else None
    rows, cols = case["rows"], case["cols"]
    expected = formula(rows, cols)
    matches = (
        table is not None
        and table.dtype == np.float32
        and table.shape == (rows, cols)
        and np.array_equal(table.view(np.uint32), expected.view(np.uint32))
    )
    meta = {p.key: p.value for p in model.metadata_props}
    return {
        "file": case["file"],
        "sha256": sha,
        "checker": verdict,
        "tableMatches": bool(matches),
        "irVersion": model.ir_version,
        "opset": [o.version for o in model.opset_import],
        "initializers": [t.name for t in model.graph.initializer],
        "outputs": [o.name for o in model.graph.output],
        "kerasConfigName": json.loads(meta["keras_config"])["config"]["name"] if "keras_config" in meta else None,
    }


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    print(json.dumps([check(case) for case in manifest["cases"]]))


if __name__ == "__main__":
    main()
