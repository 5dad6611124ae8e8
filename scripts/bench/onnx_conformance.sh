#!/usr/bin/env bash
# Runs Debian's ONNX conformance suites (libonnx-testdata: node, simple, pytorch-converted,
# pytorch-operator) through mopt's ONNX importer and LibTorch, then (where onnxruntime-node is
# installed) the round trip: each imported case exported back to ONNX by mopt and run in ONNX
# Runtime. Prints passed/failed/unsupported per suite and in total, and fails on any regression
# against tests/fixtures/onnx_conformance_passing.txt and tests/fixtures/onnx_round_trip_passing.txt.
#   bash scripts/bench/onnx_conformance.sh [--verbose]     (after scripts/build.sh)
#   bash scripts/bench/onnx_conformance.sh --write-passing tests/fixtures/onnx_conformance_passing.txt \
#     --write-round-trip tests/fixtures/onnx_round_trip_passing.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
data=/usr/share/libonnx-testdata/data
runner=${MOPT_CONFORMANCE:-build/scripts/bench/mopt_onnx_conformance}
round_trip=(--round-trip --expect-round-trip tests/fixtures/onnx_round_trip_passing.txt)
if [ ! -d scripts/ort/node_modules/onnxruntime-node ] && [ -z "${MOPT_ORT_DIR:-}" ]; then
  echo "note: onnxruntime-node not installed (scripts/ort): the export round trip is not checked" >&2
  round_trip=()
fi
exec "$runner" --expect tests/fixtures/onnx_conformance_passing.txt "${round_trip[@]}" "$@" \
  "$data/node" "$data/simple" "$data/pytorch-converted" "$data/pytorch-operator"
