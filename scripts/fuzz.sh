#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS (default 60) on its corpus; extra arguments go to libFuzzer.
#   bash scripts/fuzz.sh TARGET [SECONDS] [-jobs=2 ...]      targets: bash scripts/fuzz.sh --list
# The corpus grows in build-fuzz/corpus/TARGET (seeded from tests/fuzz/corpus/TARGET, build/fixtures
# and Debian's ONNX test data); crashes land in build-fuzz/crashes/TARGET/. A crash input, once
# fixed, goes into tests/fuzz/regressions/TARGET/ where the unit tests replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS] [libFuzzer flags...]}
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
[ -n "${MOPT_FUZZ_NO_BUILD:-}" ] || bash scripts/build_fuzz.sh >&2
fuzzer=build-fuzz/tests/fuzz/mopt_fuzz
if [ "$target" = "--list" ]; then
  ls tests/fuzz/corpus
  exit 0
fi
[ -d "tests/fuzz/corpus/$target" ] || { echo "fuzz.sh: unknown target '$target'; one of: $(ls tests/fuzz/corpus | tr '\n' ' ')" >&2; exit 2; }
corpus=build-fuzz/corpus/$target
crashes=build-fuzz/crashes/$target
mkdir -p "$corpus" "$crashes" "tests/fuzz/regressions/$target"
bash scripts/fuzz_seeds.sh "$target" "$corpus"
source scripts/fuzz_env.sh
dict=()
[ -f "tests/fuzz/dict/$target.dict" ] && dict=(-dict="tests/fuzz/dict/$target.dict")
# Limits from issue 16: an input over 10 s or 2 GB is a finding, not a slow run.
MOPT_FUZZ_TARGET=$target exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -malloc_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" "$@" \
  "$corpus" "tests/fuzz/corpus/$target" "tests/fuzz/regressions/$target"
