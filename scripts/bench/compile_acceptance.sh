#!/usr/bin/env bash
# Issue acceptance for `mopt compile`: compiled fp32 ResNet-18 and MobileNetV2 vs the input
# TorchScript (aim: >= 1.3x), and the transformer never made slower with --keep-if-faster. Each
# ratio is measured by mopt compile itself, alternating the two models in one run.
# MOPT=binary and FIXTURES=dir (what ctest's label `acceptance` passes) skip the build and use that binary and fixtures.
set -euo pipefail
cd "$(dirname "$0")/../.."
mopt=${MOPT:-build/tools/mopt/mopt}
fixtures=${FIXTURES:-build/fixtures}
[ -n "${MOPT:-}" ] || bash scripts/build.sh mopt >/dev/null
[ -f "$fixtures/resnet18.pt" ] || bash scripts/make_fixtures.sh "$fixtures" >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run() {  # NAME SHAPE AIM EXTRA...
  local name=$1 shape=$2 aim=$3; shift 3
  "$mopt" compile "$fixtures/$name.pt" --profile x86-64-avx512-vnni -o "$tmp/$name.pt" \
    --input-shape "$shape" --iterations 50 --quiet --report "$tmp/$name.json" "$@"
  /usr/bin/python3 - "$tmp/$name.json" "$name" "$aim" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = r["metrics"]; aim = float(sys.argv[3])
s = m["speedup_p50"]
print(f"{sys.argv[2]:<14} {m['before']['latency']['p50_ms']:8.3f} ms -> {m['after']['latency']['p50_ms']:8.3f} ms  "
      f"{s:.2f}x (aim >= {aim}): {'PASS' if s >= aim else 'FAIL'}   kept: {r['details']['compile']['kept_pipeline']}")
PY
}
run resnet18 1x3x224x224 1.3
run mobilenet_v2 1x3x224x224 1.3
run transformer 1x16x64 0.98 --keep-if-faster
