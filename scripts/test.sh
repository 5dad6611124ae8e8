#!/usr/bin/env bash
# Sets up everything, builds, regenerates fixtures and runs the whole test suite (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/make_fixtures.sh build/fixtures
cd build && ctest -j "$(nproc)" --output-on-failure "$@"
