#!/usr/bin/env bash
# `mopt bench --runtime onnxruntime` vs ONNX Runtime's own timing loop (aim: ratio 0.95-1.05), and
# ONNX Runtime vs LibTorch (the imported model) on the same file, for the ONNX import fixtures.
# Each figure is the median p50 of fresh processes, alternating, at 1 thread (2 threads: noisy here).
#   bash scripts/bench/onnxruntime_fidelity.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh mopt >/dev/null
[ -f build/fixtures/onnx_import/index.json ] || bash scripts/make_fixtures.sh build/fixtures >/dev/null
rounds=${1:-3}
dir=build/fixtures/onnx_import
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

p50() {  # MODEL SHAPE THREADS RUNTIME
  build/tools/mopt/mopt bench "$1" --input-shape "$2" --threads "$3" --runtime "$4" --iterations 200 --quiet --report "$tmp/b.json"
  /usr/bin/python3 -c "import json; print(json.load(open('$tmp/b.json'))['metrics']['rows'][0]['latency']['p50_ms'])"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A trivial model (one Relu on 16 floats): what is left is the timing loop itself, on both sides.
/usr/bin/python3 - "$dir/trivial_relu.onnx" <<'PY'
import sys, onnx
from onnx import TensorProto, helper
graph = helper.make_graph([helper.make_node("Relu", ["input"], ["output"])], "trivial",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 16])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 16])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])
PY

printf '%-18s %-7s %10s %10s %7s   %12s %8s\n' model threads "ORT loop" "mopt ORT" ratio "mopt LibTorch" "LT/ORT"
for spec in trivial_relu:1x16 resnet18:1x3x224x224 mobilenet_v2:1x3x224x224 mobilenet_v3_small:1x3x224x224 efficientnet_b0:1x3x224x224 \
            shufflenet_v2:1x3x224x224 transformer:1x16x64 lstm:1x10x32; do
  name=${spec%%:*}; shape=${spec#*:}
  [ -f "$dir/$name.onnx" ] || continue
  for threads in 1 2; do
    bare=(); ort=(); lt=()
    for _ in $(seq "$rounds"); do
      bare+=("$(node scripts/bench/ort_bare_loop.js "$dir/$name.onnx" "$shape" "$threads" 200)")
      ort+=("$(p50 "$dir/$name.onnx" "$shape" "$threads" onnxruntime)")
      lt+=("$(p50 "$dir/$name.onnx" "$shape" "$threads" libtorch)")
    done
    b=$(median "${bare[@]}"); o=$(median "${ort[@]}"); l=$(median "${lt[@]}")
    /usr/bin/python3 -c "
b, o, l = $b, $o, $l
r = o / b
print(f'{\"$name\":<18} {\"$threads\":<7} {b:10.3f} {o:10.3f} {r:7.3f} {\"ok\" if 0.95 <= r <= 1.05 else \"OFF\"} {l:12.3f} {l / o:8.2f}')"
  done
done
echo "ratio = mopt bench --runtime onnxruntime p50 / ORT's own loop p50 (aim 0.95-1.05); LT/ORT = LibTorch p50 / ORT p50"
echo "trivial_relu: the per-call cost of each timing loop (the bridge to mopt is outside the samples)"
