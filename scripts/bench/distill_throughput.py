"""The PyTorch reference for mopt distill's training throughput: the same student, initial
weights, data, batch size, optimizer and loss as `mopt distill`, in an eager PyTorch loop on
Debian's python3-torch. Prints one JSON line: {"samples_per_s": ..., "val_accuracy": ...}.

Usage: python3 distill_throughput.py TEACHER.pt STUDENT.pt FASHION_DIR TRAIN_SAMPLES EPOCHS BATCH THREADS
"""
import gzip
import json
import os
import sys
import time

import numpy as np

# torch.set_num_threads does not reach OpenBLAS's own thread pool (Debian's torch multiplies fp32
# matrices there); mopt --threads N sets both, so the PyTorch side must too.
if len(sys.argv) > 7:
    os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[7]
import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from fashion_student import FashionStudent  # noqa: E402

MEAN, STD, T, ALPHA, LR = 0.2860, 0.3530, 3.0, 0.7, 1e-3


def read_idx(path, offset):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load(folder, prefix, samples=None):
    def find(kind):
        for name in (f"{prefix}-{kind}", f"{prefix}-{kind}.gz"):
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        raise SystemExit(f"no {prefix}-{kind} in {folder}")
    x = read_idx(find("images-idx3-ubyte"), 16).reshape(-1, 1, 28, 28)
    y = read_idx(find("labels-idx1-ubyte"), 8)
    if samples:
        x, y = x[:samples], y[:samples]
    x = (torch.from_numpy(x.astype(np.float32)) / 255.0 - MEAN) / STD
    return x, torch.from_numpy(y.astype(np.int64))


def main(teacher_path, student_path, folder, train_samples, epochs, batch, threads):
    torch.set_num_threads(int(threads))
    torch.manual_seed(0)
    x, y = load(folder, "train", int(train_samples))
    xv, yv = load(folder, "t10k")
    teacher = torch.jit.load(teacher_path).eval()
    student = FashionStudent()
    student.load_state_dict(torch.jit.load(student_path).state_dict())
    with torch.no_grad():
        teacher_logits = torch.cat([teacher(x[i:i + 256]) for i in range(0, len(x), 256)])
    opt = torch.optim.Adam(student.parameters(), lr=LR)
    student.train()
    seconds, rows = 0.0, 0
    for epoch in range(int(epochs)):
        order = torch.randperm(len(x))
        for start in range(0, len(x), int(batch)):
            t0 = time.perf_counter()
            idx = order[start:start + int(batch)]
            xb, yb, tb = x[idx], y[idx], teacher_logits[idx]
            opt.zero_grad()
            logits = student(xb)
            kd = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(tb / T, 1), reduction="batchmean") * T * T
            loss = ALPHA * kd + (1 - ALPHA) * F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            seconds += time.perf_counter() - t0
            rows += len(idx)
    student.eval()
    with torch.no_grad():
        correct = sum((student(xv[i:i + 256]).argmax(1) == yv[i:i + 256]).sum().item() for i in range(0, len(xv), 256))
    print(json.dumps({"samples_per_s": rows / seconds, "val_accuracy": correct / len(xv), "train_seconds": seconds}))


if __name__ == "__main__":
    if len(sys.argv) != 8:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
