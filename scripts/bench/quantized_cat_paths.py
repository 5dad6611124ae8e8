"""LibTorch's quantized::cat on ShuffleNetV2's shapes, three ways, in one python3 process (1 thread):
  written out  - dequantize, fp32 cat, quantize with fp32 ops (mopt's rewrite of LibTorch's slow path)
  as given     - quantized::cat of a chunk() half (a strided view) and a conv output: the slow path
  channels-last - the same with every input made channels-last contiguous first: the fast path
                  (rewrite_quantized_cats in lib/model/float_quantize.cpp)
Prints microseconds per call and the largest difference in quantized steps between the paths.
Usage: /usr/bin/python3 scripts/bench/quantized_cat_paths.py
"""
import os
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402


def per_call_us(f, calls=2000):
    for _ in range(50):
        f()
    start = time.perf_counter()
    for _ in range(calls):
        f()
    return (time.perf_counter() - start) / calls * 1e6


def main():
    torch.set_num_threads(1)
    torch.backends.quantized.engine = "onednn"
    scale, zero_point = 0.06, 125
    for channels, side in ((58, 28), (116, 14), (232, 7)):
        whole = torch.quantize_per_tensor(torch.randn(1, 2 * channels, side, side), 0.05, 128, torch.quint8)
        half, _ = whole.contiguous(memory_format=torch.channels_last).chunk(2, dim=1)
        branch = torch.quantize_per_tensor(torch.randn(1, channels, side, side), 0.04, 120, torch.quint8)
        branch = branch.contiguous(memory_format=torch.channels_last)

        def written_out():
            joined = torch.cat([half.dequantize(), branch.dequantize()], 1)
            q = joined.mul(1.0 / scale).round_().add_(zero_point).clamp_(0, 255).to(torch.uint8)
            return torch._make_per_tensor_quantized_tensor(q, scale, zero_point)

        def as_given():
            return torch.ops.quantized.cat([half, branch], 1, scale, zero_point)

        def channels_last():
            inputs = [x.contiguous(memory_format=torch.channels_last) for x in (half, branch)]
            return torch.ops.quantized.cat(inputs, 1, scale, zero_point)

        steps = max((a().int_repr().int() - channels_last().int_repr().int()).abs().max().item() for a in (written_out, as_given))
        print(f"{channels}+{channels} channels at {side}x{side}: written out {per_call_us(written_out):7.1f} us, "
              f"as given {per_call_us(as_given):7.1f} us, channels-last {per_call_us(channels_last):6.1f} us; "
              f"largest difference {steps} step(s)")


if __name__ == "__main__":
    main()
