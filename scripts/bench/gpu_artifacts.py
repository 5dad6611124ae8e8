"""mopt's GPU artifacts (made by gpu_artifacts.sh) on a GPU, with PyTorch alone: does each file load
on CUDA, do its outputs follow the fp32 input's, and how fast is it, eager and replayed as a CUDA graph.

Usage: python3 gpu_artifacts.py DIR [--batches 1,32] [--calls 50] [--device cuda]
For each NAME.fp32.pt in DIR, with NAME.frozen.pt and NAME.fp16.pt beside it: cosine and top-1
agreement of each file against NAME.fp32.pt on the same random batch (both on the device), then the
median ms per call from CUDA events, as loaded and as a CUDA graph replay. --device cpu runs the
numerics part on a machine without a GPU (timings are then wall-clock, no graphs).
"""
import argparse
import glob
import os
import statistics
import time

import torch


def timed(call, calls, cuda):
    if not cuda:
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            call()
            samples.append((time.perf_counter() - start) * 1e3)
        return statistics.median(samples)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    for _ in range(calls):
        start.record()
        call()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end))
    return statistics.median(samples)


def graph_ms(model, x, calls):
    """A CUDA graph of one call on a side stream after warm-up, timed by its replays."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            model(x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        model(x)
    return timed(graph.replay, calls, True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    device = torch.device(args.device)
    if cuda:
        torch.backends.cudnn.benchmark = True
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}, "
              f"cuDNN {torch.backends.cudnn.version()}")
    print("| model | file | batch | cosine vs fp32 | top-1 agreement | ms as loaded | ms as CUDA graph |")
    print("|---|---|---|---|---|---|---|")
    torch.manual_seed(0)
    for fp32_path in sorted(glob.glob(os.path.join(args.dir, "*.fp32.pt"))):
        name = os.path.basename(fp32_path)[: -len(".fp32.pt")]
        files = {variant: os.path.join(args.dir, f"{name}.{variant}.pt") for variant in ("fp32", "frozen", "fp16")}
        for batch in (int(b) for b in args.batches.split(",")):
            x = torch.randn(batch, 3, 224, 224, device=device)
            with torch.inference_mode():
                reference = None
                for variant, path in files.items():
                    try:
                        model = torch.jit.load(path, map_location=device).eval()
                        out = model(x)
                    except Exception as error:  # the finding is which file fails, and why
                        print(f"| {name} | {variant} | {batch} | does not run: {str(error).splitlines()[0][:120]} | | | |")
                        continue
                    if reference is None:
                        reference = out.float()
                    cosine = torch.nn.functional.cosine_similarity(out.float().flatten(), reference.flatten(), dim=0).item()
                    agree = (out.float().argmax(1) == reference.argmax(1)).float().mean().item()
                    for _ in range(10):
                        model(x)  # the executor's profiling runs, cuDNN's autotuning
                    loaded = timed(lambda: model(x), args.calls, cuda)
                    replayed = graph_ms(model, x, args.calls) if cuda else float("nan")
                    print(f"| {name} | {variant} | {batch} | {cosine:.6f} | {100 * agree:.1f}% | {loaded:.3f} | {replayed:.3f} |")


if __name__ == "__main__":
    main()
