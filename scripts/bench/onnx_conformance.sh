#!/usr/bin/env bash
# Runs Debian's ONNX conformance suites (libonnx-testdata: node, simple, pytorch-converted,
# pytorch-operator) through mopt's ONNX importer and LibTorch; prints passed/failed/unsupported
# per suite and in total, and fails on any regression against tests/fixtures/onnx_conformance_passing.txt.
#   bash scripts/bench/onnx_conformance.sh [--verbose]     (after scripts/build.sh)
#   bash scripts/bench/onnx_conformance.sh --write-passing tests/fixtures/onnx_conformance_passing.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
data=/usr/share/libonnx-testdata/data
runner=${MOPT_CONFORMANCE:-build/scripts/bench/mopt_onnx_conformance}
exec "$runner" --expect tests/fixtures/onnx_conformance_passing.txt "$@" \
  "$data/node" "$data/simple" "$data/pytorch-converted" "$data/pytorch-operator"
