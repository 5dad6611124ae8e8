#!/usr/bin/env bash
# Issue acceptance for `mopt quantize`: on the Fashion-MNIST fixture CNN, static INT8 calibrated on
# the train split must lose at most 0.5 accuracy points on the full test split and be at least 2x
# faster than the fp32 model frozen and optimized, both measured in the same run (mopt quantize
# measures them side by side, alternating rounds). Prints the figures and PASS/FAIL per criterion.
# Usage: scripts/bench/quantize_acceptance.sh [CALIBRATOR] [ITERATIONS]
# MOPT=binary (what ctest's label `acceptance` passes) skips the build and uses that binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
calibrator=${1:-minmax}
iterations=${2:-500}
mopt=${MOPT:-build/tools/mopt/mopt}
[ -n "${MOPT:-}" ] || bash scripts/build.sh mopt >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$mopt" quantize tests/fixtures/fashion_cnn.pt -o "$tmp/int8.pt" \
  --calib /usr/share/datasets/fashion-mnist --calib-samples 512 --calibrator "$calibrator" \
  --eval-data /usr/share/datasets/fashion-mnist --normalize 0.2860,0.3530 \
  --iterations "$iterations" --quiet --report "$tmp/q.json"
/usr/bin/python3 - "$tmp/q.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = r["metrics"]
before, after = m["before"], m["after"]
drop = 100 * (before["accuracy"]["top1"] - after["accuracy"]["top1"])
speedup = m["speedup_p50"]
print(f"fp32 frozen+optimized: p50 {before['latency']['p50_ms']:.3f} ms  top-1 {100*before['accuracy']['top1']:.2f}%")
print(f"static INT8 ({r['details']['quantization']['calibrator']}, {r['details']['quantization']['engine']}): "
      f"p50 {after['latency']['p50_ms']:.3f} ms  top-1 {100*after['accuracy']['top1']:.2f}%")
print(f"accuracy drop {drop:+.2f} pt (limit 0.5): {'PASS' if drop <= 0.5 else 'FAIL'}")
print(f"speedup {speedup:.2f}x (aim >= 2.0): {'PASS' if speedup >= 2.0 else 'FAIL'}")
print(f"file {r['inputs'][0]['bytes']} -> {r['outputs'][0]['bytes']} bytes; "
      f"other processes used {r['environment']['foreign_load_cores']:.2f} cores during the run")
PY
