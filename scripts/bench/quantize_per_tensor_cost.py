"""LibTorch's quantize_per_tensor against the fp32-op sequence mopt's INT8 files used on LibTorch 1.13
(lib/model/float_quantize.h), on a 1x3x224x224 input at 1 thread, alternating, in one process.

Usage: .venv/bin/python scripts/bench/quantize_per_tensor_cost.py   (or /usr/bin/python3 for 1.13)
Prints ms per call of each, twice (the second pair is the warm one).
"""
import time
import warnings

import torch

warnings.filterwarnings("ignore")


def main():
    torch.set_num_threads(1)
    x = torch.randn(1, 3, 224, 224)
    scale, zero_point = 0.0173, 3
    inverse = 1.0 / scale

    def quantize_per_tensor():
        return torch.quantize_per_tensor(x, scale, zero_point, torch.quint8)

    def fp32_ops():
        m = torch.mul(x, inverse)
        m.round_()
        m.add_(float(zero_point))
        m.clamp_(0.0, 255.0)
        return torch._make_per_tensor_quantized_tensor(m.to(torch.uint8), scale, zero_point)

    print(f"torch {torch.__version__}")
    for f in (quantize_per_tensor, fp32_ops, quantize_per_tensor, fp32_ops):
        for _ in range(50):
            f()
        start = time.perf_counter()
        for _ in range(500):
            f()
        print(f"{f.__name__:<20} {(time.perf_counter() - start) / 500 * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
