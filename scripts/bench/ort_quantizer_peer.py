#!/usr/bin/env python3
"""mopt's INT8 against ONNX Runtime's own quantizer, side by side on the same fp32 ONNX files and the same data.

For each model, ONNX Runtime's tool (onnxruntime.quantization: quant_pre_process, then quantize_static as QDQ,
per-channel, U8S8, with its MinMax, Entropy and Percentile calibrators, and quantize_dynamic) and
`mopt quantize` with the matching calibrator and mode quantize one fp32 file from one calibration set
(512 normalized training images); mopt's static files as its default timed run makes them (the speed
fallback keeps input-edge nodes ORT runs slower in INT8 in fp32), written even when slower. Every file
is then measured the same way, by `mopt bench` in ONNX
Runtime (npm onnxruntime-node) in fresh processes: top-1 on the labelled test split, output SQNR and cosine
against the fp32 file on the same inputs, file size, and p50/p95 at 1 and 2 threads (the median of --rounds
rounds over the model's files in turn).

Models: the trained Fashion-MNIST CNN (tests/fixtures/fashion_cnn.pt, exported by mopt), and two trained
here on Fashion-MNIST (a residual CNN, and an LSTM that reads an image's 28 rows as a sequence; one epoch
each, seeded), exported by PyTorch's exporter. For speed, the random-weight test fixtures ResNet-18,
MobileNetV2 (1x3x224x224) and the transformer (1x16x64) from build/fixtures (scripts/make_fixtures.sh), or
the torchvision zoo (--zoo DIR, scripted by Debian's torchvision 0.14: PyPI's does not import beside torch 2.13),
exported by mopt at opset 17, calibrated on 64 and measured on 32 seeded random inputs (no labels: SQNR
and cosine against fp32 only).

    .venv/bin/python scripts/bench/ort_quantizer_peer.py [--test-samples N] [--iterations N] [--models a,b]
        [--methods minmax,entropy,percentile,dynamic[,mse,moving-average]] [--zoo DIR] [--no-speed-fallback]
"""
import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOPT = os.environ.get("MOPT", os.path.join(ROOT, "build/tools/mopt/mopt"))
sys.path.insert(0, os.path.join(ROOT, "scripts/fixtures"))
from train_fashion_cnn import load_split  # noqa: E402  Debian's Fashion-MNIST, normalized by 0.2860/0.3530


def images(prefix, count):
    x, y = load_split(prefix)  # normalized as the trained fixture was
    return x[:count].numpy(), y[:count].numpy()


class ResidualCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                                   nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32))
        self.down = nn.Sequential(nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.block(x))
        x = self.down(x)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class RowLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 64, batch_first=True)
        self.head = nn.Linear(64, 10)

    def forward(self, x):  # N x 1 x 28 x 28: the rows are the sequence
        out, _ = self.lstm(x.squeeze(1))
        return self.head(out[:, -1])


def train(model, x, y, epochs=1):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    data = torch.from_numpy(x)
    labels = torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(data))
        for i in range(0, len(data), 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(data[batch]), labels[batch]).backward()
            optimizer.step()
    return model.eval()


def export(model, path):
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), path, dynamo=False, opset_version=17, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})


def mopt(*args):
    done = subprocess.run([MOPT, *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"mopt {' '.join(args)}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")


def measure(path, fp32, test, labels, iterations, tmp):
    """Accuracy, agreement with fp32 and latency of one file in ONNX Runtime, each bench a fresh process."""
    report = os.path.join(tmp, "m.json")
    mopt("bench", path, "--runtime", "onnxruntime", "--data", test, *(["--labels", labels] if labels else []),
         "--reference", fp32, "--threads", "1,2", "--iterations", str(iterations), "--quiet", "--report", report)
    metrics = json.load(open(report))["metrics"]
    rows = {row["threads"]: row["latency"] for row in metrics["rows"]}
    top1 = metrics.get("accuracy", {}).get("top1", float("nan")) if labels else float("nan")
    return {"top1": top1, "sqnr": metrics["agreement"]["sqnr_db"],
            "cosine": metrics["agreement"]["cosine"], "kb": os.path.getsize(path) / 1024,
            "p50_1": rows[1]["p50_ms"], "p95_1": rows[1]["p95_ms"], "p50_2": rows[2]["p50_ms"]}


# The methods ORT's quantizer has; mopt's mse and moving-average calibrators are measured alone (against its minmax).
ORT_METHODS = ("minmax", "entropy", "percentile", "dynamic")


def ort_quantize(fp32, out, calib, method, tmp):
    from onnxruntime import quantization as q
    prepared = os.path.join(tmp, "prepared.onnx")
    q.quant_pre_process(fp32, prepared, skip_symbolic_shape=True)
    if method == "dynamic":
        q.quantize_dynamic(prepared, out, weight_type=q.QuantType.QInt8, per_channel=True)
        return

    import onnx
    input_name = onnx.load(fp32, load_external_data=False).graph.input[0].name

    class Reader(q.CalibrationDataReader):
        def __init__(self):
            self.rows = iter(calib[i:i + 1] for i in range(len(calib)))

        def get_next(self):
            row = next(self.rows, None)
            return None if row is None else {input_name: row}

    methods = {"minmax": q.CalibrationMethod.MinMax, "entropy": q.CalibrationMethod.Entropy,
               "percentile": q.CalibrationMethod.Percentile}
    q.quantize_static(prepared, out, Reader(), quant_format=q.QuantFormat.QDQ, per_channel=True,
                      activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                      calibrate_method=methods[method])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--models", default="fashion_cnn,residual_cnn,row_lstm,resnet18,mobilenet_v2,transformer")
    parser.add_argument("--methods", default="minmax,entropy,percentile,dynamic")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds over a model's files, alternating")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the residual CNN and the row-LSTM")
    parser.add_argument("--no-speed-fallback", action="store_true",
                        help="mopt's static files all INT8 (calibrators compared alone, not with a first layer in fp32)")
    parser.add_argument("--zoo", help="folder of scripted torchvision models, NAME.pt (made by "
                        "`/usr/bin/python3 scripts/bench/torchvision_models.py DIR NAME...`); --models may name them")
    options = parser.parse_args()
    torch.set_num_threads(2)
    tmp = tempfile.mkdtemp(prefix="ort-peer-")
    train_x, train_y = images("train", 60000)
    test_x, test_y = images("t10k", options.test_samples)
    calib_x = train_x[:512]
    np.save(os.path.join(tmp, "calib.npy"), calib_x)
    np.save(os.path.join(tmp, "test.npy"), test_x)
    np.save(os.path.join(tmp, "labels.npy"), test_y)
    calib, test, labels = (os.path.join(tmp, f) for f in ("calib.npy", "test.npy", "labels.npy"))

    print(f"{'model':<13} {'method':<11} {'tool':<5} {'top-1':>7} {'SQNR dB':>8} {'cosine':>9} {'KiB':>7} "
          f"{'p50 1t':>7} {'p95 1t':>7} {'p50 2t':>7}", flush=True)
    zoo_shapes = {"resnet18": (3, 224, 224), "mobilenet_v2": (3, 224, 224), "transformer": (16, 64)}
    for name in options.models.split(","):
        fp32 = os.path.join(tmp, f"{name}.onnx")
        model_calib, model_calib_x, model_test, model_labels = calib, calib_x, test, labels
        zoo_file = os.path.join(options.zoo, f"{name}.pt") if options.zoo else ""
        if name in zoo_shapes or os.path.exists(zoo_file):
            shape = zoo_shapes.get(name, (3, 224, 224))
            source = zoo_file if os.path.exists(zoo_file) else os.path.join(ROOT, f"build/fixtures/{name}.pt")
            mopt("optimize", source, "-o", fp32, "--input-shape",
                 "x".join(map(str, (1, *shape))), "--opset", "17", "-q")
            generator = np.random.default_rng(0)
            model_calib_x = generator.standard_normal((64, *shape)).astype(np.float32)
            model_calib, model_test = os.path.join(tmp, f"{name}.calib.npy"), os.path.join(tmp, f"{name}.test.npy")
            np.save(model_calib, model_calib_x)
            np.save(model_test, generator.standard_normal((32, *shape)).astype(np.float32))
            model_labels = None
        elif name == "fashion_cnn":
            mopt("optimize", os.path.join(ROOT, "tests/fixtures/fashion_cnn.pt"), "-o", fp32, "--input-shape",
                 "1x1x28x28", "--opset", "17", "-q")
        else:
            torch.manual_seed(0)  # the initial weights too: the same trained model on every run
            model = ResidualCNN() if name == "residual_cnn" else RowLSTM()
            export(train(model, train_x, train_y, epochs=options.epochs), fp32)
        rows = [("fp32", "-", fp32, measure(fp32, fp32, model_test, model_labels, options.iterations, tmp))]
        for method in options.methods.split(","):
            for tool in ("ort", "mopt") if method in ORT_METHODS else ("mopt",):
                out = os.path.join(tmp, f"{name}.{method}.{tool}.onnx")
                try:
                    if tool == "ort":
                        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                            ort_quantize(fp32, out, model_calib_x, method, tmp)
                    elif method == "dynamic":
                        mopt("quantize", fp32, "-o", out, "--mode", "dynamic", "--no-latency", "-q", "--force")
                    else:  # timed, as by default: the speed fallback runs; the file is written even if slower
                        mopt("quantize", fp32, "-o", out, "--calib", model_calib, "--calibrator", method, "--allow-slower",
                             "--threads", "1", "-q", "--force", *(["--no-speed-fallback"] if options.no_speed_fallback else []))
                    rows.append((method, tool, out, measure(out, fp32, model_test, model_labels, options.iterations, tmp)))
                except Exception as e:  # a tool that fails is a row of the table, not the end of it
                    print(f"{name:<13} {method:<11} {tool:<5} failed: {str(e)[:200]}", flush=True)
        # Latency: more rounds over every file of the model in turn, each bench a fresh process; the
        # median of the rounds' p50s (the first round is the accuracy pass's).
        for _ in range(options.rounds - 1):
            for _, _, path, m in rows:
                again = measure(path, fp32, model_test, None, options.iterations, tmp)
                for key in ("p50_1", "p95_1", "p50_2"):
                    m.setdefault("rounds", {}).setdefault(key, [m[key]]).append(again[key])
        for method, tool, _, m in rows:
            for key, values in m.get("rounds", {}).items():
                m[key] = float(np.median(values))
            sqnr = "-" if method == "fp32" else f"{m['sqnr']:8.1f}"
            cosine = "-" if method == "fp32" else f"{m['cosine']:9.6f}"
            print(f"{name:<13} {method:<11} {tool:<5} {m['top1'] * 100:6.2f}% {sqnr:>8} {cosine:>9} "
                  f"{m['kb']:7.0f} {m['p50_1']:7.3f} {m['p95_1']:7.3f} {m['p50_2']:7.3f}", flush=True)

if __name__ == "__main__":
    sys.exit(main())
