#!/usr/bin/env bash
# The main job on the bundled default: the Fashion-MNIST CNN (tests/fixtures/fashion_cnn.pt),
# optimized for inference and measured before/after on the real Fashion-MNIST test split.
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
echo "artifact: out/fashion_cnn.optimized.pt   reports: out/inspect-report.json out/optimize-report.json"
