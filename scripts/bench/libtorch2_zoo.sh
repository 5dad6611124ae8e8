#!/usr/bin/env bash
# The zoo side by side on LibTorch 2.x (issue 47's acceptance): mopt's compile and quantize artifacts
# against the same-version PyTorch (scripted, optimize_for_inference in memory, its own graph-mode
# INT8, its AOTInductor package: scripts/bench/aoti_package.py, timed by mopt bench) and ONNX Runtime fp32 on the same model exported by mopt. 1 thread, batch 1; every figure is
# the p50 of a fresh process (mopt bench for mopt's files and ORT, scripts/bench/pytorch_latency.py
# in .venv/'s PyTorch for the peers), ROUNDS rounds alternating all of them, median over rounds.
#   bash scripts/bench/libtorch2_zoo.sh [ROUNDS] [MODEL...]
# MODEL: resnet18 resnet50 mobilenet_v2 mobilenet_v3_small efficientnet_b0 shufflenet_v2_x1_0
# squeezenet1_0 (torchvision, random weights, settled BatchNorm) transformer lstm fashion_cnn.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet18 resnet50 mobilenet_v2 mobilenet_v3_small efficientnet_b0 shufflenet_v2_x1_0
                                   squeezenet1_0 transformer lstm fashion_cnn)
mopt=${MOPT:-build/tools/mopt/mopt}
[ -x "$mopt" ] || bash scripts/build.sh mopt >/dev/null
[ -f build/fixtures/onnx_import/lstm.pt ] || bash scripts/make_fixtures.sh build/fixtures >/dev/null
py=.venv/bin/python
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

declare -A shape mode
for name in "${models[@]}"; do
  case $name in
    transformer) cp build/fixtures/transformer.pt "$tmp/"; shape[$name]=1x16x64; mode[$name]=dynamic ;;
    lstm) cp build/fixtures/onnx_import/lstm.pt "$tmp/"; shape[$name]=1x10x32; mode[$name]=dynamic ;;
    fashion_cnn) cp tests/fixtures/fashion_cnn.pt "$tmp/"; shape[$name]=1x1x28x28; mode[$name]=static ;;
    *) /usr/bin/python3 scripts/bench/torchvision_models.py "$tmp" "$name"; shape[$name]=1x3x224x224; mode[$name]=static ;;
  esac
done

for name in "${models[@]}"; do
  s=${shape[$name]}; m=${mode[$name]}
  echo "== $name: mopt compile, quantize ($m), export; PyTorch graph-mode INT8 ..." >&2
  # Calibration and evaluation data: 32 random rows of the model's input (random-weight models).
  $py -c "import numpy as np; np.save('$tmp/$name.data.npy', np.random.default_rng(0).standard_normal((32,) + tuple(map(int, '$s'.split('x')[1:]))).astype(np.float32))"
  "$mopt" compile "$tmp/$name.pt" --profile x86-64-avx512-vnni --keep-if-faster --threads 1 --iterations 60 \
    --input-shape "$s" -o "$tmp/$name.compiled.pt" --quiet
  if [ "$m" = static ]; then
    "$mopt" quantize "$tmp/$name.pt" -o "$tmp/$name.int8.pt" --calib "$tmp/$name.data.npy" --eval-data "$tmp/$name.data.npy" \
      --threads 1 --no-latency --quiet || echo "   mopt quantize failed for $name" >&2
  else
    "$mopt" quantize "$tmp/$name.pt" -o "$tmp/$name.int8.pt" --mode dynamic --eval-data "$tmp/$name.data.npy" \
      --threads 1 --no-latency --quiet || echo "   mopt quantize failed for $name" >&2
  fi
  "$mopt" optimize "$tmp/$name.pt" -o "$tmp/$name.onnx" --input-shape "$s" --no-latency --quiet || echo "   export failed for $name" >&2
  $py scripts/bench/pytorch_int8.py "$tmp/$name.pt" "$s" "$tmp/$name.pt_int8.pt" "$m" 2>/dev/null \
    || echo "   PyTorch graph-mode INT8 failed for $name" >&2
  $py scripts/bench/aoti_package.py "$tmp/$name.pt" "$s" "$tmp/$name.pt2" 2>/dev/null \
    || echo "   PyTorch AOTInductor package failed for $name" >&2
done

$py - "$tmp" "$rounds" "$mopt" "${models[@]}" <<PY
import json, statistics, subprocess, sys, os
tmp, rounds, mopt, models = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
shapes = {$(for n in "${models[@]}"; do printf '"%s": "%s", ' "$n" "${shape[$n]}"; done)}
def mopt_p50(path, shape):
    report = os.path.join(tmp, "b.json")
    subprocess.run([mopt, "bench", path, "--input-shape", shape, "--threads", "1", "--batch", "1",
                    "--iterations", "100", "--quiet", "--report", report], check=True)
    return json.load(open(report))["metrics"]["rows"][0]["latency"]["p50_ms"]
def torch_p50(path, shape, mode):
    return float(subprocess.run([sys.executable, "scripts/bench/pytorch_latency.py", path, shape, mode],
                                check=True, capture_output=True, text=True).stdout)
columns = {  # label: (file suffix, how it is timed)
    "pt script": (".pt", "plain"), "pt ofi": (".pt", "ofi"), "pt int8": (".pt_int8.pt", "plain"), "pt2 aoti": (".pt2", "mopt"),
    "ort fp32": (".onnx", "mopt"), "mopt comp": (".compiled.pt", "mopt"), "mopt int8": (".int8.pt", "mopt")}
print(f"{'model':<20}" + "".join(f"{c:>11}" for c in columns) + f"{'comp/ofi':>10}{'int8/ptq':>10}{'best/ort':>10}")
for name in models:
    samples = {c: [] for c in columns}
    for _ in range(rounds):
        for c, (suffix, how) in columns.items():
            path = os.path.join(tmp, name + suffix)
            if not os.path.exists(path):
                continue
            try:
                samples[c].append(mopt_p50(path, shapes[name]) if how == "mopt" else torch_p50(path, shapes[name], how))
            except subprocess.CalledProcessError:
                pass
    p = {c: statistics.median(v) if v else float("nan") for c, v in samples.items()}
    best = min(p["mopt comp"], p["mopt int8"])
    print(f"{name:<20}" + "".join(f"{p[c]:>11.3f}" for c in columns)
          + f"{p['mopt comp'] / p['pt ofi']:>10.2f}{p['mopt int8'] / p['pt int8']:>10.2f}{best / p['ort fp32']:>10.2f}")
print("ms per call, p50, 1 thread, batch 1, median of", rounds, "fresh-process rounds. pt = PyTorch",
      "(same version as mopt's LibTorch), ofi = torch.jit.optimize_for_inference in memory, pt int8 = its",
      "graph-mode INT8 (static x86 qconfig / dynamic), pt2 aoti = its AOTInductor package (freezing on); comp/ofi and int8/ptq: mopt over PyTorch (aim <= 1.0);",
      "best/ort: mopt's faster artifact over ONNX Runtime fp32")
PY
