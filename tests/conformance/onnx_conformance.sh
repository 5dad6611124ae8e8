#!/usr/bin/env bash
# Runs the ONNX conformance suites through mopt's ONNX importer and LibTorch, then (where
# onnxruntime-node is installed) the round trip: each imported case exported back to ONNX by mopt
# and run in ONNX Runtime. Suites: Debian's libonnx-testdata (ONNX 1.12: node, simple,
# pytorch-converted, pytorch-operator; opsets up to 17), and node-1.23, the node tests of every
# opset generated from the onnx package in .venv/ (tests/conformance/generate_node_tests.py, ~10 s,
# kept in .deps/). Prints passed/failed/unsupported per suite and per opset, and fails on any
# regression against tests/fixtures/onnx_conformance_passing.txt and onnx_round_trip_passing.txt.
#   bash tests/conformance/onnx_conformance.sh [--verbose]     (after scripts/build.sh)
#   bash tests/conformance/onnx_conformance.sh --write-passing tests/fixtures/onnx_conformance_passing.txt \
#     --write-round-trip tests/fixtures/onnx_round_trip_passing.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
data=/usr/share/libonnx-testdata/data
runner=${MOPT_CONFORMANCE:-build/tests/conformance/mopt_onnx_conformance}
round_trip=(--round-trip --expect-round-trip tests/fixtures/onnx_round_trip_passing.txt)
if [ ! -d lib/runtime/ort/node_modules/onnxruntime-node ] && [ -z "${MOPT_ORT_DIR:-}" ]; then
  echo "note: onnxruntime-node not installed (lib/runtime/ort): the export round trip is not checked" >&2
  round_trip=()
fi
generated=.deps/onnx-tests/node-1.23
onnx_version=$(.venv/bin/python -c 'import onnx; print(onnx.__version__)')
if [ "$(cat "$generated.version" 2>/dev/null)" != "$onnx_version" ]; then
  mkdir -p "$(dirname "$generated")"
  .venv/bin/python tests/conformance/generate_node_tests.py "$generated" 2>/dev/null
  echo "$onnx_version" >"$generated.version"
fi
exec "$runner" --expect tests/fixtures/onnx_conformance_passing.txt "${round_trip[@]}" "$@" \
  "$data/node" "$data/simple" "$data/pytorch-converted" "$data/pytorch-operator" "$generated"
