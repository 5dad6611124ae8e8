#!/usr/bin/env bash
# Speed of imported ONNX models vs the same networks scripted from PyTorch (aim: ratio <= 1.10).
# For each model: `mopt optimize NAME.onnx -o imported.pt` (timed: the import), then `mopt bench`
# of the imported file and of the TorchScript twin, each in a fresh process, alternating rounds,
# at 1 thread (the stable ratio on this shared machine) and at 2 threads (labelled, noisier).
#   bash scripts/bench/onnx_import_speed.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh mopt >/dev/null
[ -f build/fixtures/onnx_import/index.json ] || bash scripts/make_fixtures.sh build/fixtures >/dev/null
rounds=${1:-3}
dir=build/fixtures/onnx_import
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mopt=build/tools/mopt/mopt

p50() {  # MODEL SHAPE THREADS -> p50 ms of a fresh `mopt bench`
  "$mopt" bench "$1" --input-shape "$2" --threads "$3" --iterations 200 --quiet --report "$tmp/b.json"
  /usr/bin/python3 -c "import json; print(json.load(open('$tmp/b.json'))['metrics']['rows'][0]['latency']['p50_ms'])"
}

printf '%-14s %-8s %12s %12s %8s\n' model threads "twin p50" "import p50" ratio
for spec in resnet18:1x3x224x224 mobilenet_v2:1x3x224x224 transformer:1x16x64; do
  name=${spec%%:*}; shape=${spec#*:}
  start=$(date +%s%N)
  "$mopt" optimize "$dir/$name.onnx" -o "$tmp/$name.imported.pt" --quiet
  import_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  for threads in 1 2; do
    twin=(); imported=()
    for _ in $(seq "$rounds"); do
      twin+=("$(p50 "$dir/$name.pt" "$shape" "$threads")")
      imported+=("$(p50 "$tmp/$name.imported.pt" "$shape" "$threads")")
    done
    /usr/bin/python3 - "$name" "$threads" "${twin[*]}" "${imported[*]}" <<'PY'
import statistics, sys
name, threads = sys.argv[1], sys.argv[2]
twin = statistics.median(map(float, sys.argv[3].split())); imported = statistics.median(map(float, sys.argv[4].split()))
ratio = imported / twin
label = "" if threads == "1" else "  (2 threads: noisy here)"
print(f"{name:<14} {threads:<8} {twin:12.3f} {imported:12.3f} {ratio:8.2f}  {'PASS' if ratio <= 1.10 else 'FAIL'} (aim <= 1.10){label}")
PY
  done
  echo "  import of $name.onnx ($(du -k "$dir/$name.onnx" | cut -f1) KiB) by mopt optimize, whole process: ${import_ms} ms"
done
