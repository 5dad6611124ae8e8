"""Does oneDNN's fused convolution+ReLU help a saved TorchScript file? PyTorch 2.x has the fused kernel as an op
with plain tensor arguments (mkldnn::_convolution_pointwise, what Inductor's CPU fusion calls), so a graph
that uses it saves and reloads; the prepacked-weight form `optimize_for_inference` makes does not save.

For each scripted model: frozen (conv-BN folded), channels-last input; the same with every conv2d+relu
rewritten to the fused op; that file saved and reloaded; and `optimize_for_inference` in memory (prepacked
oneDNN weights). ms per call, median of --iterations calls after warm-up, 1 thread, batch 1, 1x3x224x224.

    .venv/bin/python scripts/bench/conv_pointwise_fusion.py MODEL.pt...   (models: scripts/bench/torchvision_models.py)
"""
import argparse
import os
import tempfile
import time

import torch

CONV_RELU = """
graph(%x, %w, %b, %s, %p, %d, %g):
  %c = aten::conv2d(%x, %w, %b, %s, %p, %d, %g)
  %r = aten::{relu}(%c)
  return (%r)"""
FUSED = """
graph(%x, %w, %b, %s, %p, %d, %g):
  %attr : str = prim::Constant[value="relu"]()
  %none : NoneType = prim::Constant()
  %scalars : Scalar?[] = prim::ListConstruct(%none)
  %algorithm : str = prim::Constant[value=""]()
  %r = mkldnn::_convolution_pointwise(%x, %w, %b, %p, %s, %d, %g, %attr, %scalars, %algorithm)
  return (%r)"""


def median_ms(run, iterations):
    for _ in range(5):
        run()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2] * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--iterations", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = torch.randn(1, 3, 224, 224).contiguous(memory_format=torch.channels_last)
    print("| model | frozen | fused conv+relu | fused, saved and reloaded | optimize_for_inference | fused ops |")
    print("|---|---|---|---|---|---|")
    with torch.no_grad(), tempfile.TemporaryDirectory() as tmp:
        for path in args.models:
            model = torch.jit.load(path).eval()
            frozen = torch.jit.freeze(model)
            base = median_ms(lambda: frozen(x), args.iterations)
            expected = frozen(x)
            fused = torch.jit.freeze(model)
            for relu in ("relu", "relu_"):
                torch._C._jit_pass_custom_pattern_based_rewrite_graph(CONV_RELU.format(relu=relu), FUSED, fused.graph)
            count = sum(1 for node in fused.graph.nodes() if node.kind() == "mkldnn::_convolution_pointwise")
            assert torch.allclose(fused(x), expected, atol=1e-4), "the fused graph computes something else"
            fused_ms = median_ms(lambda: fused(x), args.iterations)
            saved = os.path.join(tmp, "fused.pt")
            fused.save(saved)
            reloaded = torch.jit.load(saved)
            reloaded_ms = median_ms(lambda: reloaded(x), args.iterations)
            ofi = torch.jit.optimize_for_inference(torch.jit.load(path).eval())
            ofi_ms = median_ms(lambda: ofi(x), args.iterations)
            name = os.path.splitext(os.path.basename(path))[0]
            print(f"| {name} | {base:.2f} | {fused_ms:.2f} | {reloaded_ms:.2f} | {ofi_ms:.2f} | {count} |", flush=True)


if __name__ == "__main__":
    main()
