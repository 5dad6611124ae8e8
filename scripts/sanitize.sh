#!/usr/bin/env bash
# Builds the unit tests with ASan+UBSan (clang, build-fuzz/) and runs them through ctest; with
# --all, the whole suite: the unit tests, the ONNX conformance run and the CLI end-to-end tests
# driving the sanitized mopt. A sanitizer report in mopt's code fails the test that triggered it.
# Extra arguments go to ctest.
#   bash scripts/sanitize.sh [--all] [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
tests='^unit\.' build=--tests
if [ "${1:-}" = "--all" ]; then
  tests='.' build=--all
  shift
fi
bash scripts/build_fuzz.sh "$build" >&2
# The tests read the generated fixtures from their build folder; share build/'s.
[ -d build/fixtures ] || bash scripts/make_fixtures.sh build/fixtures
[ -e build-fuzz/fixtures ] || ln -s ../build/fixtures build-fuzz/fixtures
source scripts/fuzz_env.sh
cd build-fuzz && ctest -j "$(( $(nproc) < 2 ? $(nproc) : 2 ))" --output-on-failure -R "$tests" "$@"
