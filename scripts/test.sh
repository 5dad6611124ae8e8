#!/usr/bin/env bash
# Sets up everything, builds, regenerates fixtures and runs the whole test suite (ctest).
# MOPT_CI_FUZZ=1 adds the clang ASan+UBSan unit tests and ~20 s of every fuzz target (README
# "Fuzzing and sanitizers": the extra clang build costs 20-35 min on 2 cores, so it is opt-in).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/make_fixtures.sh build/fixtures
(cd build && ctest -j "$(nproc)" --output-on-failure "$@")
if [ "${MOPT_CI_FUZZ:-0}" = 1 ]; then
  bash scripts/sanitize.sh
  bash scripts/bench/fuzz_all.sh "${MOPT_CI_FUZZ_SECONDS:-20}"
fi
