#!/usr/bin/env bash
# The main job on the bundled default: the Fashion-MNIST CNN (tests/fixtures/fashion_cnn.pt,
# 90.39% test accuracy) quantized to static INT8 with real calibration data (Fashion-MNIST train
# split), measured against fp32 on the real test split, then benchmarked and gated like a CI job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh mopt
mkdir -p out
mopt=build/tools/mopt/mopt
data=/usr/share/datasets/fashion-mnist
norm=0.2860,0.3530

$mopt inspect tests/fixtures/fashion_cnn.pt --top 6 --report out/inspect-report.json
echo
$mopt quantize tests/fixtures/fashion_cnn.pt -o out/fashion_cnn.int8.pt --force \
  --calib "$data" --calib-samples 512 --eval-data "$data" --normalize "$norm" \
  --max-accuracy-drop 0.5 --report out/quantize-report.json
echo
$mopt bench out/fashion_cnn.int8.pt --reference tests/fixtures/fashion_cnn.pt \
  --data "$data" --split test --normalize "$norm" --batch 1,32 --iterations 200 \
  --fail-if 'accuracy.top1 < 0.89' --fail-if 'agreement.top1_agreement < 0.98' \
  --report out/bench-report.json --junit out/bench-gates.xml
echo
echo "artifact: out/fashion_cnn.int8.pt"
echo "reports:  out/inspect-report.json out/quantize-report.json out/bench-report.json (gates: out/bench-gates.xml)"
