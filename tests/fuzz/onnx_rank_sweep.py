#!/usr/bin/env python3
"""Sweeps declared input ranks over every default-domain ONNX operator and reports the one-node
models that crash ONNX's own shape inference (the library mopt's importer calls), each in a forked
child so a SEGV is a finding, not the end of the sweep. Crashing models are written to
OUT/models<opset>/ so they can be replayed through mopt's fuzz target:

    /usr/bin/python3 tests/fuzz/onnx_rank_sweep.py OUT 6 7 9 11 13 17
    for f in OUT/models*/*.onnx; do MOPT_FUZZ_TARGET=onnx_model build-fuzz/tests/fuzz/mopt_fuzz "$f" \\
        >/dev/null 2>&1 || echo "still crashes mopt: $f"; done

Found with it (ONNX 1.12): convolutions whose input rank is below the weight's, and opset 6's
Gemm/RNN/GRU/LSTM with inputs of the wrong rank; graph_validation.cpp refuses both first.
"""
import os
import random
import sys

import onnx
from onnx import TensorProto, defs, helper


def latest_schemas(opset):
    latest = {}
    for s in defs.get_all_schemas_with_history():
        if s.domain == '' and s.since_version <= opset and not s.deprecated:
            if s.name not in latest or latest[s.name].since_version < s.since_version:
                latest[s.name] = s
    return latest


def one_node_model(schema, ranks, dim, opset):
    names = [f'i{i}' for i in range(len(ranks))]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [dim] * r) for n, r in zip(names, ranks)]
    outputs = [f'o{k}' for k in range(max(1, schema.min_output))]
    graph = helper.make_graph([helper.make_node(schema.name, names, outputs)], 'g', inputs,
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)])


def crashes_inference(data):
    pid = os.fork()
    if pid == 0:
        try:
            onnx.shape_inference.infer_shapes(onnx.load_from_string(data), check_type=True, strict_mode=True)
        except Exception:
            pass
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def sweep(out, opset, rng):
    found = 0
    for name, schema in sorted(latest_schemas(opset).items()):
        count = max(schema.min_input, min(schema.max_input, 3))
        for ranks in sorted({tuple(rng.randint(0, 5) for _ in range(count)) for _ in range(40)}):
            for dim in (1, 3):
                data = one_node_model(schema, ranks, dim, opset).SerializeToString()
                if crashes_inference(data):
                    found += 1
                    os.makedirs(f'{out}/models{opset}', exist_ok=True)
                    path = f'{out}/models{opset}/{name}_{"_".join(map(str, ranks))}_{dim}.onnx'
                    open(path, 'wb').write(data)
                    print(f'opset {opset}: {name} ranks {ranks} dim {dim} crashes ONNX shape inference', flush=True)
    return found


if __name__ == '__main__':
    out, opsets = sys.argv[1], [int(o) for o in sys.argv[2:]] or [17]
    rng = random.Random(0)
    total = sum(sweep(out, o, rng) for o in opsets)
    print(f'{total} crashing models written under {out}')
