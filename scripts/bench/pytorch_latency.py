"""Independent latency of a TorchScript file as PyTorch runs it: one fresh process per call.

Usage: pytorch_latency.py MODEL SHAPE [plain|ofi] [--faults]
Loads MODEL with torch.jit.load (ofi: then torch.jit.optimize_for_inference(torch.jit.freeze(m)),
PyTorch's in-memory result that it cannot save), 1 thread, the x86 quantized engine (onednn on 1.13), 30 warm-up
calls on a random input of SHAPE (e.g. 1x3x224x224), then prints the median of 100 timed calls in ms.
--faults: also prints the process's minor page faults per timed call after the median.
"""
import os
import resource
import sys
import time

# torch.set_num_threads does not reach OpenBLAS's own thread pool (Debian's torch multiplies fp32
# matrices there); mopt --threads 1 limits both, so this loop must too.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402


def main(path, shape, mode="plain", faults=False):
    torch.set_num_threads(1)
    # The engine mopt picks by default (x86 on LibTorch 2.x, onednn on 1.13), or MOPT_BENCH_ENGINE.
    wanted = [os.environ["MOPT_BENCH_ENGINE"]] if os.environ.get("MOPT_BENCH_ENGINE") else ["x86", "onednn"]
    for engine in wanted:
        if engine in torch.backends.quantized.supported_engines:
            torch.backends.quantized.engine = engine
            break
    model = torch.jit.load(path)
    if mode == "ofi":
        model = torch.jit.optimize_for_inference(torch.jit.freeze(model.eval()))
    x = torch.randn(*map(int, shape.split("x")))
    with torch.no_grad():
        for _ in range(30):
            model(x)
        times = []
        faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(100):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1e3)
        faults_per_call = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / 100
    times.sort()
    print(f"{times[50]} {faults_per_call:.0f}" if faults else times[50])


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--faults"]
    main(*args, faults="--faults" in sys.argv[1:])
