#!/usr/bin/env bash
# The same files on LibTorch 1.13 and 2.13, side by side in one run (issue 47: mopt's artifacts on
# 2.x no slower than on 1.13). Debian's python3-torch 1.13 (installed by scripts/setup.sh for the old
# fixtures) and .venv/'s torch 2.13 each time the same file by scripts/bench/pytorch_latency.py: the
# scripted model (plain, and optimize_for_inference in memory), mopt's compiled file and mopt's static
# INT8 file made with `--engine onednn` (the one quantized engine both versions have; a file packed by
# x86/fbgemm does not load in 1.13). mopt's INT8 file for 2.13's default engine (x86) runs in 2.13
# only. 1 thread, batch 1, one fresh process per figure, ROUNDS rounds alternating, median.
#   bash scripts/bench/libtorch_versions.sh [ROUNDS] [MODEL...]
# MODEL: resnet18 resnet50 mobilenet_v2 mobilenet_v3_small efficientnet_b0 shufflenet_v2_x1_0
# squeezenet1_0 (torchvision 0.14, random weights, settled BatchNorm) fashion_cnn.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet18 resnet50 mobilenet_v2 mobilenet_v3_small efficientnet_b0 shufflenet_v2_x1_0
                                   squeezenet1_0 fashion_cnn)
mopt=${MOPT:-build/tools/mopt/mopt}
[ -x "$mopt" ] || bash scripts/build.sh mopt >/dev/null
py=.venv/bin/python
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

declare -A shape
for name in "${models[@]}"; do
  case $name in
    fashion_cnn) cp tests/fixtures/fashion_cnn.pt "$tmp/"; shape[$name]=1x1x28x28 ;;
    *) /usr/bin/python3 scripts/bench/torchvision_models.py "$tmp" "$name"; shape[$name]=1x3x224x224 ;;
  esac
done

for name in "${models[@]}"; do
  s=${shape[$name]}
  echo "== $name: mopt compile, quantize (onednn, x86) ..." >&2
  $py -c "import numpy as np; np.save('$tmp/$name.data.npy', np.random.default_rng(0).standard_normal((32,) + tuple(map(int, '$s'.split('x')[1:]))).astype(np.float32))"
  "$mopt" compile "$tmp/$name.pt" --profile x86-64-avx512-vnni --keep-if-faster --threads 1 --iterations 30 \
    --input-shape "$s" -o "$tmp/$name.compiled.pt" --quiet
  "$mopt" quantize "$tmp/$name.pt" -o "$tmp/$name.onednn.pt" --engine onednn --calib "$tmp/$name.data.npy" \
    --eval-data "$tmp/$name.data.npy" --threads 1 --no-latency --quiet || echo "   mopt quantize (onednn) failed for $name" >&2
  "$mopt" quantize "$tmp/$name.pt" -o "$tmp/$name.x86.pt" --engine x86 --calib "$tmp/$name.data.npy" \
    --eval-data "$tmp/$name.data.npy" --threads 1 --no-latency --quiet || echo "   mopt quantize (x86) failed for $name" >&2
done

$py - "$tmp" "$rounds" "${models[@]}" <<PY
import json, statistics, subprocess, sys, os, zipfile
tmp, rounds, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
shapes = {$(for n in "${models[@]}"; do printf '"%s": "%s", ' "$n" "${shape[$n]}"; done)}
pythons = {"1.13": "/usr/bin/python3", "2.13": sys.executable}
def engine_of(path):  # the engine mopt recorded in the artifact (extra/mopt.json), else the default
    try:
        z = zipfile.ZipFile(path)
        return json.loads(z.read(next(n for n in z.namelist() if n.endswith("extra/mopt.json")))).get("quantized_engine", "")
    except (StopIteration, KeyError, zipfile.BadZipFile):
        return ""
def p50(version, path, shape, mode):
    env = dict(os.environ)
    if engine_of(path): env["MOPT_BENCH_ENGINE"] = engine_of(path)
    run = subprocess.run([pythons[version], "scripts/bench/pytorch_latency.py", path, shape, mode],
                         capture_output=True, text=True, env=env)
    return float(run.stdout) if run.returncode == 0 else None
columns = [  # (label, file suffix, mode, versions)
    ("scripted", ".pt", "plain", ("1.13", "2.13")), ("ofi", ".pt", "ofi", ("1.13", "2.13")),
    ("mopt compiled", ".compiled.pt", "plain", ("1.13", "2.13")), ("mopt int8 onednn", ".onednn.pt", "plain", ("1.13", "2.13")),
    ("mopt int8 x86", ".x86.pt", "plain", ("2.13",))]
heads = [f"{label} {v}" for label, _, _, versions in columns for v in versions]
print("| model | " + " | ".join(heads) + " | compiled 2.13/1.13 | int8 onednn 2.13/1.13 |")
print("|---" * (len(heads) + 3) + "|")
for name in models:
    samples = {h: [] for h in heads}
    for _ in range(rounds):
        for label, suffix, mode, versions in columns:
            path = os.path.join(tmp, name + suffix)
            for v in versions:
                value = p50(v, path, shapes[name], mode) if os.path.exists(path) else None
                if value is not None: samples[f"{label} {v}"].append(value)
    p = {h: statistics.median(v) if v else float("nan") for h, v in samples.items()}
    ratio = lambda label: p[f"{label} 2.13"] / p[f"{label} 1.13"]
    print(f"| {name} | " + " | ".join(f"{p[h]:.3f}" for h in heads)
          + f" | {ratio('mopt compiled'):.2f} | {ratio('mopt int8 onednn'):.2f} |", flush=True)
print(f"ms per call, p50 of 100 calls, 1 thread, batch 1, median of {rounds} fresh-process rounds; nan: the file",
      "does not load or run in that version (or was not made). mopt's files made by this build on LibTorch 2.13;",
      "each INT8 file runs under the engine recorded in it.")
PY
