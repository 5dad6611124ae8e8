"""PyTorch's own graph-mode INT8 of a TorchScript file, the peer of `mopt quantize` in the zoo benchmark.

Usage: .venv/bin/python scripts/bench/pytorch_int8.py MODEL SHAPE OUT static|dynamic
static: torch.ao.quantization.quantize_jit with get_default_qconfig("x86"), calibrated on 8 random
inputs of SHAPE (the zoo's models have random weights, so random data is what mopt calibrates on too);
dynamic: quantize_dynamic_jit (INT8 Linear/LSTM weights). Saves OUT with torch.jit.save.
"""
import sys

import torch
from torch.ao.quantization import default_dynamic_qconfig, get_default_qconfig, quantize_dynamic_jit, quantize_jit


def main(path, shape, out, mode):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.backends.quantized.engine = "x86"
    model = torch.jit.load(path).eval()
    if mode == "static":
        data = [torch.randn(*map(int, shape.split("x"))) for _ in range(8)]
        calibrate = lambda m, batches: [m(x) for x in batches]  # noqa: E731
        quantized = quantize_jit(model, {"": get_default_qconfig("x86")}, calibrate, [data])
    else:
        quantized = quantize_dynamic_jit(model, {"": default_dynamic_qconfig})
    torch.jit.save(quantized, out)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
