"""Why compiled MobileNetV2 trails PyTorch's in-memory optimize_for_inference (issue 14, section 2).

PyTorch's ofi clamps each ReLU6 in place with prim::MKLDNNHardTanh_, whose bounds are node
attributes and so cannot be saved. mopt's saved oneDNN artifact computes the same ReLU6 as
6 * hardsigmoid(y - 3) with prim::MKLDNNHardSigmoid_ (the -3 and *6 folded into the convs), the only
in-place oneDNN op of LibTorch 1.13 that saves and reloads and can clamp. This times both ops, in
place on oneDNN tensors, over the 35 ReLU6 outputs of MobileNetV2 at 1x3x224x224, 1 thread: the
difference is the part of the gap that LibTorch's kernels decide.
Usage: /usr/bin/python3 scripts/bench/onednn_relu6_kernels.py [ROUNDS]
"""
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402
import torchvision  # noqa: E402


def inplace_op(ir):
    return torch._C._create_function_from_graph("f", torch._C.parse_ir(ir))


def main(rounds=3):
    torch.set_num_threads(1)
    shapes = []
    model = torchvision.models.mobilenet_v2(weights=None).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU6):
            module.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
    with torch.no_grad():
        model(torch.randn(1, 3, 224, 224))
    ops = {
        "MKLDNNHardSigmoid_ (mopt, saved)": inplace_op(
            "graph(%x : Tensor):\n  %y : Tensor = prim::MKLDNNHardSigmoid_(%x)\n  return (%y)"),
        "MKLDNNHardTanh_ (ofi, in memory)": inplace_op(
            "graph(%x : Tensor):\n  %y : Tensor = prim::MKLDNNHardTanh_[min_val=0., max_val=6.](%x)\n  return (%y)"),
    }
    tensors = [torch.randn(*s).to_mkldnn() for s in shapes]
    for r in range(rounds):
        row = []
        for name, op in ops.items():
            for x in tensors:
                op(x)
            times = []
            for _ in range(31):
                start = time.perf_counter()
                for x in tensors:
                    op(x)
                times.append(time.perf_counter() - start)
            times.sort()
            row.append((name, times[15] * 1e3))
        print(f"round {r + 1}: " + ", ".join(f"{n} {ms:.3f} ms" for n, ms in row) +
              f"  (ratio {row[0][1] / row[1][1]:.2f}; {len(shapes)} ReLU6 outputs per call)")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
