"""Side-by-side latency of TorchScript files in ONE python3 process, for differences smaller than the
spread between fresh processes (which is 10-30% for MobileNetV2 here). Not what a user gets: the
figures mopt reports come from fresh processes; this only ranks files against each other.

Each MODEL is a file, or FILE:ofi for PyTorch's in-memory optimize_for_inference(freeze(...)) of it.
The models alternate in 20 blocks of 20 calls (1 thread, one random 1x3x224x224 input, 30 warm-up
calls each); prints the median and minimum of the block medians. With --profile, also runs 5 rounds
of 20 profiled calls of each under torch.autograd.profiler and prints the self time per call of the
top ops ("forward" is the TorchScript frame: oneDNN prims such as prim::mkldnn_convolution and
MKLDNNHardSigmoid_ run inside it untraced).
Usage: /usr/bin/python3 scripts/bench/inprocess_ab.py [--profile] MODEL MODEL...
"""
import collections
import os
import statistics
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402


def load(spec):
    if spec.endswith(":ofi"):
        return torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.load(spec[:-4]).eval()))
    return torch.jit.load(spec)


def main(args):
    profile = "--profile" in args
    specs = [a for a in args if a != "--profile"]
    torch.set_num_threads(1)
    models = {spec: load(spec) for spec in specs}
    x = torch.randn(1, 3, 224, 224)
    blocks = {spec: [] for spec in specs}
    with torch.no_grad():
        for model in models.values():
            for _ in range(30):
                model(x)
        for _ in range(20):
            for spec, model in models.items():
                times = []
                for _ in range(20):
                    start = time.perf_counter()
                    model(x)
                    times.append((time.perf_counter() - start) * 1e3)
                blocks[spec].append(statistics.median(times))
        for spec in specs:
            print(f"{spec:40s} median {statistics.median(blocks[spec]):.3f} ms  min {min(blocks[spec]):.3f} ms")
        if not profile:
            return
        self_us = {spec: collections.Counter() for spec in specs}
        for _ in range(5):
            for spec, model in models.items():
                with torch.autograd.profiler.profile() as prof:
                    for _ in range(20):
                        model(x)
                for event in prof.key_averages():
                    self_us[spec][event.key] += event.self_cpu_time_total / 100.0
        for spec in specs:
            print(f"{spec}: profiled total {sum(self_us[spec].values()) / 1000:.3f} ms per call")
            for op, us in self_us[spec].most_common(8):
                print(f"   {op:40s} {us / 1000:.3f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
