#!/usr/bin/env bash
# Issue 17 figures: the op profiler's overhead (profiled p50 / unprofiled p50, measured in the same
# `mopt bench --op-profile` run) for ResNet-18 and the transformer fixture in LibTorch and, through
# ONNX Runtime's session profiling, for their ONNX exports in ONNX Runtime; then a soak of the
# static-INT8 Fashion-MNIST CNN with its latency drift (last vs first window) and RSS growth.
# One thread: intra-op threads on a shared 2-core machine swing too much for a ratio.
# Usage: scripts/bench/op_profile_overhead.sh [ITERATIONS] [ROUNDS] [SOAK_SECONDS] [SOAK_RATE]
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations=${1:-50}
rounds=${2:-3}
soak_s=${3:-60}
rate=${4:-0}
bash scripts/build.sh mopt >/dev/null
mopt=build/tools/mopt/mopt
fixtures=build/fixtures
[ -f "$fixtures/onnx_import/resnet18.onnx" ] || bash scripts/make_fixtures.sh "$fixtures" >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

overhead() {  # NAME MODEL SHAPE
  local ratios=()
  for r in $(seq "$rounds"); do
    $mopt bench "$2" --data "$3" --samples 1 --threads 1 --iterations "$iterations" --op-profile --quiet --report "$tmp/p.json"
    line=$(/usr/bin/python3 -c "
import json; p=json.load(open('$tmp/p.json'))['metrics']['op_profile']; o=p['overhead']
print(f\"{o['ratio']:.4f} unprofiled p50 {o['unprofiled_p50_ms']:.3f} ms, profiled p50 {o['profiled_p50_ms']:.3f} ms, \"
      f\"{sum(x['calls'] for x in p['ops']):.0f} op records per inference, ops cover {100*p['op_total_ms']/p['marked_ms']:.0f}% of the call\")")
    printf '%s round %d: overhead %.3fx (%s)\n' "$1" "$r" "${line%% *}" "${line#* }"
    ratios+=("${line%% *}")
  done
  /usr/bin/python3 -c "import statistics,sys; print(f'$1: median profiler overhead {statistics.median(map(float, sys.argv[1:])):.3f}x (aim < 1.10)')" "${ratios[@]}"
}

imports=$fixtures/onnx_import
overhead "resnet18 (LibTorch)" "$imports/resnet18.pt" "$imports/resnet18.input.npy"
overhead "transformer (LibTorch)" "$imports/transformer.pt" "$imports/transformer.input.npy"
overhead "resnet18 (ONNX Runtime)" "$imports/resnet18.onnx" "$imports/resnet18.input.npy"
overhead "transformer (ONNX Runtime)" "$imports/transformer.onnx" "$imports/transformer.input.npy"

$mopt quantize tests/fixtures/fashion_cnn.pt -o "$tmp/cnn.int8.pt" --calib /usr/share/datasets/fashion-mnist \
  --calib-samples 512 --quiet
rate_flag=(); [ "$rate" != 0 ] && rate_flag=(--rate "$rate")
$mopt bench "$tmp/cnn.int8.pt" --input-shape 1x1x28x28 --threads 1 --duration "$soak_s" "${rate_flag[@]}" --quiet --report "$tmp/soak.json"
/usr/bin/python3 - "$tmp/soak.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); row = r["metrics"]["rows"][0]; s = row["soak"]
print(f"INT8 CNN soak ({s['settings']}): {row['latency']['count']} calls, p50 {row['latency']['p50_ms']:.3f} ms, "
      f"p99 {row['latency']['p99_ms']:.3f} ms, cpu {row['cpu']['percent_one_core']:.0f}% of one core")
for w in s["windows"]:
    print(f"  {w['start_s']:5.1f}-{w['end_s']:5.1f} s: {w['count']:7d} calls  p50 {w['p50_ms']:.3f} ms  p99 {w['p99_ms']:.3f} ms  RSS {w['rss_end_mb']:.1f} MB")
print(f"drift last vs first window: p50 {s['drift']['p50_percent']:+.1f}%, p99 {s['drift']['p99_percent']:+.1f}%; "
      f"RSS growth {s['rss_growth_mb']:+.2f} MB ({'FLAGGED' if s['rss_growth_flagged'] else 'not flagged'}); "
      f"other processes used {r['environment']['foreign_load_cores']:.2f} cores")
PY
