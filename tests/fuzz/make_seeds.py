#!/usr/bin/python3
"""Regenerates the committed fuzz seed corpora in tests/fuzz/corpus/TARGET/ (small on purpose:
scripts/fuzz.sh adds build/fixtures and Debian's ONNX test data at run time).

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import gzip
import io
import json
import os
import shutil
import struct
import sys

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
ONNX_NODE = "/usr/share/libonnx-testdata/data/node"
NODE_TESTS = [
    "test_conv_with_strides_padding", "test_relu", "test_add", "test_gemm_default_no_bias", "test_batchnorm_example",
    "test_reshape_reordered_all_dims", "test_constantofshape_int_zeros", "test_gather_0", "test_concat_2d_axis_0",
    "test_matmul_2d", "test_softmax_axis_1", "test_transpose_default", "test_slice", "test_expand_dim_changed",
    "test_flatten_axis1", "test_identity", "test_unsqueeze_axis_0", "test_resize_upsample_scales_nearest",
    "test_lstm_defaults", "test_clip", "test_cast_FLOAT_to_DOUBLE", "test_where_example",
    "test_range_float_type_positive_delta_expanded",
]


def out(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def onnx_seeds():
    for test in NODE_TESTS:
        with open(os.path.join(ONNX_NODE, test, "model.onnx"), "rb") as f:
            out("onnx_model", test[len("test_"):] + ".onnx", f.read())
        pb = os.path.join(ONNX_NODE, test, "test_data_set_0", "input_0.pb")
        if os.path.getsize(pb) <= 4096:
            with open(pb, "rb") as f:
                out("tensor_pb", test[len("test_"):] + ".pb", f.read())
    # A Conv + BatchNorm + Identity + Constant graph: what fuse-conv-bn, fold-constants and
    # eliminate-identity look for.
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    init = [numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "w"),
            numpy_helper.from_array(np.ones(2, np.float32), "scale"), numpy_helper.from_array(np.zeros(2, np.float32), "b"),
            numpy_helper.from_array(np.zeros(2, np.float32), "mean"), numpy_helper.from_array(np.ones(2, np.float32), "var")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "b", "mean", "var"], ["bn"]),
             helper.make_node("Identity", ["bn"], ["i"]),
             helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.full((1,), 2, np.float32))),
             helper.make_node("Mul", ["i", "k"], ["y"])]
    graph = helper.make_graph(nodes, "seed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    out("onnx_model", "conv_bn_identity_constant.onnx", model.SerializeToString())


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.fc = torch.nn.Linear(2, 3)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(x.mean(dim=(2, 3)))


def torch_seeds():
    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Tiny().eval()), buffer)
    out("torchscript", "tiny_cnn.pt", buffer.getvalue())
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.trace(torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU()), torch.zeros(1, 4)), buffer)
    out("torchscript", "traced_mlp.pt", buffer.getvalue())
    for name, value in [("tensor.pt", torch.arange(12, dtype=torch.float32).reshape(3, 4)),
                        ("uint8_images.pt", torch.zeros(2, 1, 3, 3, dtype=torch.uint8)),
                        ("tuple.pt", (torch.ones(2, 2), torch.tensor([0, 1]))),
                        ("dict.pt", {"x": torch.ones(2, 3, dtype=torch.float64), "y": torch.tensor([1, 0])})]:
        buffer = io.BytesIO()
        torch.save(value, buffer)
        out("torch_saved", name, buffer.getvalue())


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def data_seeds():
    out("npy", "f32.npy", npy_bytes(np.arange(12, dtype=np.float32).reshape(3, 4)))
    out("npy", "u8_images.npy", npy_bytes(np.zeros((2, 1, 2, 2), np.uint8)))
    out("npy", "i64_labels.npy", npy_bytes(np.array([0, 1, 2], np.int64)))
    out("npy", "f16.npy", npy_bytes(np.ones((2, 3), np.float16)))
    out("npy", "bool.npy", npy_bytes(np.ones((2, 2), bool)))
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"
    header += " " * (118 - len(header)) + "\n"  # v2 header: 4-byte length
    out("npy", "v2_f64.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header.encode() + b"\0" * 32)

    def idx(dtype_code, shape, payload):
        return bytes([0, 0, dtype_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + payload

    images = idx(0x08, [2, 3, 3], bytes(range(18)))
    out("idx", "images-idx3-ubyte", images)
    out("idx", "images-idx3-ubyte.gz", gzip.compress(images, mtime=0))
    out("idx", "labels-idx1-ubyte", idx(0x08, [2], bytes([1, 0])))
    out("idx", "floats-idx2", idx(0x0D, [2, 2], struct.pack(">4f", 1, 2, 3, 4)))
    out("idx", "int-idx2.gz", gzip.compress(idx(0x0C, [2, 2], struct.pack(">4i", 1, -2, 3, 4)), mtime=0))


def text_seeds():
    for i, text in enumerate([
            "freeze,fold-conv-bn,remove-dropout,optimize-for-inference",
            "eliminate-identity,fold-constants,fuse-conv-bn,eliminate-dead-nodes",
            "freeze,quantize-dynamic{dtype=qint8}",
            "optimize-for-inference{mkldnn=true},specialize-input-shape{shape=1x3x224x224}",
            "channels-last, fuse-add-relu ,eliminate-dead-code",
            "constants-to-initializers{}"]):
        out("pipeline", f"pipeline_{i}.txt", text)
    for i, text in enumerate(["1x3x224x224", "x:1x784", "1x784:int64", "input:2x3x8x8:float16", "ids:1x128:int32",
                              "a:b:c", "1x0"]):
        out("input_spec", f"spec_{i}.txt", text)
    for i, text in enumerate(["latency.p95_ms > 12", "accuracy.top1 < 0.90", "throughput.samples_per_s <= 100",
                              "memory.peak_mb >= 1e3", "model.file_mb != 1.7", "agreement.cosine == 1",
                              "latency.p50_ms=5%", "accuracy.top1=0.5pt", "memory.peak_mb=10"]):
        out("gate", f"gate_{i}.txt", text)


def json_seeds():
    for folder in [os.path.join(ROOT, "profiles"), os.path.join(ROOT, "tests", "fixtures", "profiles")]:
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json") and name != "profile.schema.json":
                shutil.copy(os.path.join(folder, name), os.path.join(CORPUS, "profile", name))
    reports = os.path.join(ROOT, "tests", "fixtures", "reports")
    for name in sorted(os.listdir(reports)):
        shutil.copy(os.path.join(reports, name), os.path.join(CORPUS, "baseline_report", name))
    manifests = [
        {"jobs": [{"model": "model.pt", "command": "quantize", "output": "out/{stem}.int8.pt",
                   "flags": {"mode": "dynamic"}}]},
        {"defaults": {"flags": {"threads": 1}, "output": "out/{stem}-{command}{ext}"},
         "jobs": [{"model": "*.pt", "command": "compile", "flags": {"profile": "x86-64-avx2"}},
                  {"name": "b-{index}", "model": "model.pt", "command": "bench", "flags": {"batch": [1, 8], "fail-if": "latency.p95_ms > 20"}}]},
        {"jobs": [{"model": "model.pt", "command": "prune", "output": "{dir}/{name}.{index}.pt", "timeout_s": 60,
                   "flags": {"method": "channel", "amount": 0.5, "input-shape": "1x1x28x28", "global": True}}]},
    ]
    for i, manifest in enumerate(manifests):
        out("manifest", f"manifest_{i}.json", json.dumps(manifest, indent=1))


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    for target in ["profile", "baseline_report"]:
        os.makedirs(os.path.join(CORPUS, target))
    onnx_seeds()
    torch_seeds()
    data_seeds()
    text_seeds()
    json_seeds()
    sys.exit(0)
