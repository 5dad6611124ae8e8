#!/usr/bin/env python3
"""The ceiling of what quantizing an ONNX model's weight products can gain in a runtime.

Writes a copy of MODEL in which every MatMul/Gemm by a constant weight (the nodes dynamic INT8
quantizes) is replaced by a near-free node with the same output shape: Identity when the product
keeps the width, Concat of the input with itself when it widens by a whole factor, else a Slice.
The outputs are wrong, but the rest of the graph runs exactly as before. So fp32 time / this file's
time bounds any speedup from making those products faster, INT8 included: if that ratio is under
an aim, no quantization of the products reaches the aim.

Usage: /usr/bin/python3 scripts/bench/remove_weight_products.py MODEL.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def product_widths(node, weight):
    k, n = weight.shape
    transposed = any(a.name == "transB" and a.i for a in node.attribute)
    return (n, k) if node.op_type == "Gemm" and transposed else (k, n)


def stand_in(node, weight, graph):
    k, n = product_widths(node, weight)
    x, y = node.input[0], node.output[0]
    if n == k:
        return helper.make_node("Identity", [x], [y])
    if n % k == 0:
        return helper.make_node("Concat", [x] * (n // k), [y], axis=-1)
    bounds = [(f"{y}_starts", [0]), (f"{y}_ends", [n]), (f"{y}_axes", [-1])]
    if n > k:  # widen to a multiple first, then cut back to n
        wide = f"{y}_wide"
        graph.node.append(helper.make_node("Concat", [x] * (n // k + 1), [wide], axis=-1))
        x = wide
    graph.initializer.extend(numpy_helper.from_array(np.array(v, dtype=np.int64), name) for name, v in bounds)
    return helper.make_node("Slice", [x] + [name for name, _ in bounds], [y])


def constant_weights(graph):
    """Initializers, and the names Identity nodes give them (PyTorch's exports share weights so)."""
    weights = {t.name: t for t in graph.initializer}
    for node in graph.node:  # topological order: an Identity's input is resolved before it
        if node.op_type == "Identity" and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]]
    return weights


def main(source, target):
    model = onnx.load(source)
    graph = model.graph
    weights = constant_weights(graph)
    nodes = list(graph.node)
    del graph.node[:]
    replaced = 0
    for node in nodes:
        if node.op_type in ("MatMul", "Gemm") and node.input[1] in weights:
            replacement = stand_in(node, numpy_helper.to_array(weights[node.input[1]]), graph)
            graph.node.append(replacement)
            replaced += 1
        else:
            graph.node.append(node)
    onnx.checker.check_model(model)
    onnx.save(model, target)
    print(f"{replaced} weight products replaced", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
