"""PyTorch's own graph-mode INT8 of a TorchScript file, the peer of `mopt quantize` in the zoo benchmark.

Usage: .venv/bin/python scripts/bench/pytorch_int8.py MODEL SHAPE OUT static|dynamic
static: torch.ao.quantization.quantize_jit with get_default_qconfig("x86"), calibrated on 8 random
inputs of SHAPE (the zoo's models have random weights, so random data is what mopt calibrates on too);
dynamic: quantize_dynamic_jit (INT8 Linear/LSTM weights). Saves OUT with torch.jit.save.
"""
import sys

import torch
from torch.ao.quantization import default_dynamic_qconfig, get_default_qconfig, quantize_dynamic_jit, quantize_jit


def quantize(model, mode, batches):
    """PyTorch's graph-mode INT8 of a loaded TorchScript module; static calibrates on `batches` (tensors)."""
    torch.backends.quantized.engine = "x86"
    if mode == "static":
        calibrate = lambda m, data: [m(x) for x in data]  # noqa: E731
        return quantize_jit(model, {"": get_default_qconfig("x86")}, calibrate, [batches])
    return quantize_dynamic_jit(model, {"": default_dynamic_qconfig})


def main(path, shape, out, mode):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    batches = [torch.randn(*map(int, shape.split("x"))) for _ in range(8)]
    torch.jit.save(quantize(torch.jit.load(path).eval(), mode, batches), out)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
