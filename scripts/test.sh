#!/usr/bin/env bash
# Sets up everything, builds, regenerates fixtures and runs the whole test suite (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/make_fixtures.sh build/fixtures
# ONNX Runtime (npm) checks ONNX pass outputs against a real runtime; tests skip it if absent.
if command -v npm >/dev/null && [ -f scripts/ort/package.json ] && [ ! -d scripts/ort/node_modules/onnxruntime-node ]; then
  (cd scripts/ort && npm install --ignore-scripts --no-audit --no-fund --loglevel=error) || echo "warning: ONNX Runtime install failed; ORT checks will be skipped" >&2
fi
cd build && ctest -j "$(nproc)" --output-on-failure "$@"
