"""Why single-row-matvec exists: one-row matrix products in Debian's LibTorch (OpenBLAS), 1 thread.

For classifier-head weights, times what a frozen/optimized linear layer runs at batch 1
(torch.matmul(x, W.t().contiguous()), as optimize_for_inference leaves it, and F.linear) against
torch.mv on the same weight (what the pass emits), and prints the ratio.
Usage: /usr/bin/python3 scripts/bench/single_row_matvec.py [ROUNDS]
"""
import os
import statistics
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402


def median_us(call, calls=500):
    for _ in range(30):
        call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main(rounds=3):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"{'weight':>10} {'matmul us':>10} {'linear us':>10} {'mv us':>7} {'matmul/mv':>10}")
    for n, k in [(1000, 1280), (1000, 1024), (1000, 512), (1024, 576), (128, 784), (192, 64)]:
        w, b, x = torch.randn(n, k), torch.randn(n), torch.randn(1, k)
        wt = w.t().contiguous()
        runs = {"matmul": [], "linear": [], "mv": []}
        with torch.no_grad():
            for _ in range(rounds):  # alternating, so a burst of load hits all three alike
                runs["matmul"].append(median_us(lambda: torch.matmul(x, wt)))
                runs["linear"].append(median_us(lambda: torch.nn.functional.linear(x, w, b)))
                runs["mv"].append(median_us(lambda: torch.mv(wt.t(), x[0])))
        med = {key: statistics.median(v) for key, v in runs.items()}
        print(f"{n:>5}x{k:<4} {med['matmul']:10.1f} {med['linear']:10.1f} {med['mv']:7.1f} "
              f"{med['matmul'] / med['mv']:9.2f}x")
    print(f"(1 thread, batch 1, median of 500 calls, median of {rounds} rounds)")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
