#!/usr/bin/env python3
"""mopt's LibTorch INT8 against PyTorch's own graph-mode INT8, at the PyTorch version mopt links.

For each trained model, PyTorch's graph-mode quantization of the traced fp32 file (scripts/bench/pytorch_int8.py,
the zoo benchmark's peer: quantize_jit with the x86 qconfig, calibrated on the same images) and `mopt quantize`
on the same file (static, MinMax) make an INT8 TorchScript file; for the LSTM, dynamic INT8 on both sides
(quantize_dynamic_jit; `mopt quantize --mode dynamic`). Every file
is measured the same way, by `mopt bench --runtime libtorch --engine x86` in fresh processes: top-1 on the
labelled test split, output SQNR against the fp32 file on the same inputs, file size, and p50/p95 at 1
thread and p50 at 2 (the median of --rounds rounds over the model's files in turn).

Models (Fashion-MNIST, normalized 0.2860/0.3530): the trained fixture CNN (tests/fixtures/fashion_cnn.pt's
weights), and the residual CNN and row-LSTM of ort_quantizer_peer.py, trained here (seeded, --epochs).

    .venv/bin/python scripts/bench/pytorch_int8_peer.py [--test-samples N] [--iterations N] [--rounds N]
        [--epochs N] [--models fashion_cnn,residual_cnn,row_lstm]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pytorch_int8 as torch_int8  # noqa: E402
from ort_quantizer_peer import ROOT, ResidualCNN, RowLSTM, images, mopt, train  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts/fixtures"))
from train_fashion_cnn import FashionCNN  # noqa: E402

warnings.filterwarnings("ignore")  # torch.ao's deprecation notices, one per call


def fashion_cnn(_train_x, _train_y, _epochs):
    model = FashionCNN()
    model.load_state_dict(torch.jit.load(os.path.join(ROOT, "tests/fixtures/fashion_cnn.pt")).state_dict())
    return model.eval()


def residual_cnn(x, y, epochs):
    torch.manual_seed(0)
    return train(ResidualCNN(), x, y, epochs)


def row_lstm(x, y, epochs):
    torch.manual_seed(0)
    return train(RowLSTM(), x, y, epochs)


MODELS = {"fashion_cnn": (fashion_cnn, "static"), "residual_cnn": (residual_cnn, "static"),
          "row_lstm": (row_lstm, "dynamic")}


def save_traced(model, path):
    with torch.no_grad():
        torch.jit.trace(model.eval(), (torch.zeros(1, 1, 28, 28),)).save(path)


def pytorch_int8(fp32_path, mode, calib, path):
    """PyTorch's own graph-mode INT8 of the same fp32 file (pytorch_int8.py, the zoo's peer), on the same images."""
    batches = [torch.from_numpy(calib[i:i + 64]) for i in range(0, len(calib), 64)]
    torch.jit.save(torch_int8.quantize(torch.jit.load(fp32_path).eval(), mode, batches), path)


def measure(path, fp32, test, labels, iterations, tmp):
    report = os.path.join(tmp, "m.json")
    mopt("bench", path, "--runtime", "libtorch", "--engine", "x86", "--data", test, "--labels", labels,
         "--reference", fp32, "--threads", "1,2", "--iterations", str(iterations), "--quiet", "--report", report)
    metrics = json.load(open(report))["metrics"]
    rows = {row["threads"]: row["latency"] for row in metrics["rows"]}
    return {"top1": metrics["accuracy"]["top1"], "sqnr": metrics["agreement"]["sqnr_db"],
            "kb": os.path.getsize(path) / 1024, "p50_1": rows[1]["p50_ms"], "p95_1": rows[1]["p95_ms"],
            "p50_2": rows[2]["p50_ms"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--calib-samples", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(2)
    train_x, train_y = images("train", 60000)
    test_x, test_y = images("t10k", args.test_samples)
    calib = train_x[:args.calib_samples]
    print("| model | method | tool | top-1 | SQNR dB | KiB | p50 1t | p95 1t | p50 2t |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        test, labels, calib_file = (os.path.join(tmp, n) for n in ("test.npy", "labels.npy", "calib.npy"))
        np.save(test, test_x)
        np.save(labels, test_y)
        np.save(calib_file, calib)
        for name in args.models.split(","):
            build, mode = MODELS[name]
            model = build(train_x, train_y, args.epochs)
            files = {"fp32": os.path.join(tmp, f"{name}.pt"), "PyTorch": os.path.join(tmp, f"{name}.torch-int8.pt"),
                     "mopt": os.path.join(tmp, f"{name}.mopt-int8.pt")}
            save_traced(model, files["fp32"])
            pytorch_int8(files["fp32"], mode, calib, files["PyTorch"])
            mopt_args = ["--mode", "dynamic", "--eval-data", calib_file] if mode == "dynamic" else [
                "--calib", calib_file, "--calibrator", "minmax"]
            mopt("quantize", files["fp32"], "-o", files["mopt"], *mopt_args, "--engine", "x86", "--no-latency",
                 "--allow-slower", "--quiet")
            rounds = {tool: [] for tool in files}
            for _ in range(args.rounds):  # the files in turn, so a slow spell of the machine hits them all
                for tool, path in files.items():
                    rounds[tool].append(measure(path, files["fp32"], test, labels, args.iterations, tmp))
            for tool, runs in rounds.items():
                m = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                sqnr = "" if tool == "fp32" else f"{m['sqnr']:.1f}"
                print(f"| {name} | {'fp32' if tool == 'fp32' else mode} | {'' if tool == 'fp32' else tool} | "
                      f"{100 * m['top1']:.2f}% | {sqnr} | {m['kb']:.0f} | {m['p50_1']:.3f} | {m['p95_1']:.3f} | "
                      f"{m['p50_2']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
