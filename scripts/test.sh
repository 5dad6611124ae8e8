#!/usr/bin/env bash
# The test command (README, .ci/run). Sets up everything, regenerates the fixtures, then runs the whole
# suite (unit tests, ONNX conformance, CLI end-to-end tests) on the clang ASan+UBSan build
# (build-fuzz/: mopt's own code instrumented at -O1 with assertions on; LibTorch, ONNX and protobuf as
# Debian ships them, their own reports suppressed narrowly), so a memory error or undefined behaviour
# anywhere the tests reach fails the test that reached it. Then every fuzz target for
# MOPT_CI_FUZZ_SECONDS (default 15) from a fixed seed, so a failure reproduces
# (MOPT_FUZZ_REPLAY_ONLY="TARGET ..." makes targets only replay their corpus, for a crash in a library
# that is not guarded yet: tests/fuzz/known/README.md); MOPT_CI_FUZZ=0 skips the fuzzing.
# Extra arguments go to ctest. ~25 min on 2 cores from a clean clone (docs/benchmarks.md, "Fuzzing and sanitizers").
#
# --release runs the same suite on the gcc Release build that users get (build/, scripts/build.sh),
# without sanitizers or fuzzing. CI runs the sanitized build only: both do not fit its 90 minutes on
# 2 cores; the sanitized run executes the same tests, but not the gcc -O3 NDEBUG compile.
#   bash scripts/test.sh [--release] [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--release" ]; then
  shift
  bash scripts/build.sh
  bash scripts/make_fixtures.sh build/fixtures
  cd build && exec ctest -j "$(nproc)" --output-on-failure "$@"
fi
bash scripts/setup_fuzz.sh
bash scripts/make_fixtures.sh build/fixtures
bash scripts/sanitize.sh --all "$@"
if [ "${MOPT_CI_FUZZ:-1}" = 1 ]; then
  # Two targets at a time, one per core: each still gets its seconds of one core.
  MOPT_FUZZ_SEED=${MOPT_FUZZ_SEED:-1} MOPT_FUZZ_REPLAY_ONLY=${MOPT_FUZZ_REPLAY_ONLY-} \
    MOPT_FUZZ_PARALLEL=${MOPT_FUZZ_PARALLEL:-2} bash scripts/bench/fuzz_all.sh "${MOPT_CI_FUZZ_SECONDS:-15}"
fi
