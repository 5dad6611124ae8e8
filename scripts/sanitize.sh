#!/usr/bin/env bash
# Builds the unit tests and the CLI with ASan+UBSan (clang, build-fuzz/) and runs the unit tests
# through ctest (with --cli, the CLI end-to-end tests too, driving the sanitized mopt); a sanitizer
# report in mopt's code fails the test that triggered it. Extra arguments go to ctest.
#   bash scripts/sanitize.sh [--cli] [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
tests='^unit\.' build=--tests
if [ "${1:-}" = "--cli" ]; then
  tests='^(unit|cli)\.' build=--cli
  shift
fi
bash scripts/build_fuzz.sh "$build" >&2
# The unit tests read the generated fixtures from their build folder; share build/'s.
[ -d build/fixtures ] || bash scripts/make_fixtures.sh build/fixtures
[ -e build-fuzz/fixtures ] || ln -s ../build/fixtures build-fuzz/fixtures
source scripts/fuzz_env.sh
cd build-fuzz && ctest -j "$(( $(nproc) < 2 ? $(nproc) : 2 ))" --output-on-failure -R "$tests" "$@"
