#!/usr/bin/env bash
# The main job on the bundled default: the Fashion-MNIST CNN (tests/fixtures/fashion_cnn.pt),
# optimized for inference, measured before/after on the real Fashion-MNIST test split, then
# benchmarked and gated against the original.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh mopt
mkdir -p out
mopt=build/tools/mopt/mopt
$mopt inspect tests/fixtures/fashion_cnn.pt --top 8 --report out/inspect-report.json
echo
$mopt optimize tests/fixtures/fashion_cnn.pt \
  --pipeline 'freeze,fold-conv-bn,remove-dropout,optimize-for-inference' \
  --data /usr/share/datasets/fashion-mnist --split test --normalize 0.2860,0.3530 \
  -o out/fashion_cnn.optimized.pt --report out/optimize-report.json --force
echo
# Gate the artifact the way a CI job would: accuracy, agreement with the original, latency sweep.
$mopt bench out/fashion_cnn.optimized.pt --reference tests/fixtures/fashion_cnn.pt \
  --data /usr/share/datasets/fashion-mnist --split test --normalize 0.2860,0.3530 \
  --batch 1,32 --iterations 200 --fail-if 'accuracy.top1 < 0.89' --fail-if 'agreement.cosine < 0.9999' \
  --report out/bench-report.json --junit out/bench-gates.xml
echo
echo "artifact: out/fashion_cnn.optimized.pt"
echo "reports:  out/inspect-report.json out/optimize-report.json out/bench-report.json (gates: out/bench-gates.xml)"
