#!/usr/bin/env bash
# A new user's first hour on torchvision models the fixtures do not hold: for each MODEL (random
# weights, settled BatchNorm: scripts/bench/torchvision_models.py), runs compile, static INT8 to .pt
# and to .onnx, export to ONNX and 30% channel pruning, and prints each command's exit code, its
# latency row and any WARNING or LibTorch log line. Every command at 1 thread except the export,
# which times at the threads in effect. Outputs and full logs stay in OUT_DIR (default a temp dir).
# Usage: [OUT_DIR=dir] scripts/bench/torchvision_sweep.sh MODEL...   e.g. regnet_y_400mf mnasnet0_5 maxvit_t
set -uo pipefail
cd "$(dirname "$0")/../.."
mopt=${MOPT:-build/tools/mopt/mopt}
[ -x "$mopt" ] || bash scripts/build.sh mopt >/dev/null
[ $# -gt 0 ] || { sed -n 2,7p "$0"; exit 2; }
out=${OUT_DIR:-$(mktemp -d)}; mkdir -p "$out"
/usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).standard_normal((8, 3, 224, 224), dtype=np.float32))" "$out/img8.npy"
/usr/bin/python3 scripts/bench/torchvision_models.py "$out" "$@"
shape=1x3x224x224
for name in "$@"; do
  m=$out/$name
  run() {
    local tag=$1; shift
    "$mopt" "$@" >"$m.$tag.log" 2>&1; local rc=$?
    echo "$name $tag: exit $rc"
    grep -E "^latency p50|^note: ONNX Runtime|WARNING|^W[0-9]{8} " "$m.$tag.log" | head -3 | cut -c1-200 | sed 's/^/    /'
  }
  run compile compile "$m.pt" --profile x86-64-avx512-vnni -o "$m.compiled.pt" --input-shape $shape --threads 1 --iterations 20
  run int8-pt quantize "$m.pt" -o "$m.int8.pt" --calib "$out/img8.npy" --threads 1 --iterations 20
  run int8-onnx quantize "$m.pt" -o "$m.int8.onnx" --calib "$out/img8.npy" --threads 1 --iterations 20
  run export optimize "$m.pt" -p freeze -o "$m.onnx" --input-shape $shape
  run prune prune "$m.pt" --method channel --amount 0.3 -o "$m.pruned.pt" --input-shape $shape --threads 1 --iterations 20
done
echo "outputs and logs: $out"
