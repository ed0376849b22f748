#!/usr/bin/python3
"""Writes test/fixtures/onnx-python/*.onnx with Python's `onnx` (Debian's python3-onnx): a
Gather model (opset 13) over a 1,100 x 4 table stored the ways onnx.helper.make_tensor stores
it without raw=True (packed float_data for float32, double_data for float64, int32_data holding
the bits for float16 and bfloat16) and as float16 raw_data. An independent writer for
@embedding-layer/io's streamed ONNX reader (test/onnx-streaming.test.ts checks the values
against the same formula). Values are exact in every type and spell the row number in
columns 0 and 1:

    v(r, 0) = r mod 256, v(r, 1) = floor(r / 256), v(r, c) = (3c + r) mod 64 - 32 otherwise.

    /usr/bin/python3 test/oracle/onnx_make_fixtures.py   (from packages/io)
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, checker, helper

ROWS, COLS = 1100, 4
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "onnx-python")


def table():
    r = np.arange(ROWS)[:, None]
    c = np.arange(COLS)[None, :]
    v = (3 * c + r) % 64 - 32
    v = np.where(c == 0, r % 256, v)
    v = np.where(c == 1, r // 256, v)
    return v.astype(np.float64)


def model(tensor):
    node = helper.make_node("Gather", ["table", "ids"], ["out"], axis=0)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("out", tensor.data_type, ["n", COLS])],
        [tensor],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx_make_fixtures.py")
    m.ir_version = 7
    checker.check_model(m, full_check=True)
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    t = table()
    cases = {
        "float32-float_data.onnx": helper.make_tensor("table", TensorProto.FLOAT, t.shape, t.astype(np.float32)),
        "float64-double_data.onnx": helper.make_tensor("table", TensorProto.DOUBLE, t.shape, t),
        "float16-int32_data.onnx": helper.make_tensor("table", TensorProto.FLOAT16, t.shape, t.astype(np.float16)),
        "bfloat16-int32_data.onnx": helper.make_tensor("table", TensorProto.BFLOAT16, t.shape, t.astype(np.float32)),
        "float16-raw_data.onnx": helper.make_tensor(
            "table", TensorProto.FLOAT16, t.shape, t.astype("<f2").tobytes(), raw=True
        ),
    }
    for name, tensor in cases.items():
        onnx.save(model(tensor), os.path.join(OUT, name))
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
