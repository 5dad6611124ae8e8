"""Writes the ONNX backend node tests (model.onnx + test_data_set_*/input_N.pb, output_N.pb) from the
test-case generators that ship in the onnx package (onnx/backend/test/case/node): the wheel on PyPI
holds the generators and their NumPy reference outputs, not the generated files. The layout is the
one ONNX's own backend runner reads, and Debian's libonnx-testdata ships for ONNX 1.12.

    .venv/bin/python tests/conformance/generate_node_tests.py SUITE_DIR   (its name names the suite)
"""
import os
import shutil
import sys

import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node


def write_tensor(path, value, name):
    with open(path, "wb") as f:
        proto = value if isinstance(value, onnx.TensorProto) else numpy_helper.from_array(value, name)
        f.write(proto.SerializeToString())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    written = 0
    for case in node.collect_testcases(None):
        graph = case.model.graph
        # Sequences, maps and optionals are outside what mopt imports; their cases stay out.
        if any(not v.type.HasField("tensor_type") for v in list(graph.input) + list(graph.output)):
            continue
        case_dir = os.path.join(out, case.name)
        os.makedirs(case_dir)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data_dir = os.path.join(case_dir, f"test_data_set_{i}")
            os.makedirs(data_dir)
            for j, value in enumerate(inputs):
                write_tensor(os.path.join(data_dir, f"input_{j}.pb"), value, graph.input[j].name)
            for j, value in enumerate(outputs):
                write_tensor(os.path.join(data_dir, f"output_{j}.pb"), value, graph.output[j].name)
        written += 1
    print(f"onnx {onnx.__version__}: {written} node test cases in {out}")


if __name__ == "__main__":
    main()
