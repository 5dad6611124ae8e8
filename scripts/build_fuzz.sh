#!/usr/bin/env bash
# Builds the clang ASan+UBSan+libFuzzer tree in build-fuzz/: the fuzz driver (mopt_fuzz) and, with
# `--tests`, the sanitized unit tests (mopt_tests), with `--cli` those and the CLI (mopt). Separate
# from build/ (gcc, Release).
#   bash scripts/build_fuzz.sh [--tests | --cli]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_fuzz.sh
targets=(mopt_fuzz)
[ "${1:-}" = "--tests" ] && targets+=(mopt_tests)
[ "${1:-}" = "--cli" ] && targets+=(mopt_tests mopt)
# "Sanitize" is no CMake build type on purpose: no -O3 and no NDEBUG, so assertions stay on.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_COMPILER=clang++ -DMOPT_FUZZ=ON >/dev/null
# Two jobs at most: clang with LibTorch's headers needs ~1.5 GB per job, and the machine is shared.
ninja -C build-fuzz -j "$(( $(nproc) < 2 ? $(nproc) : 2 ))" "${targets[@]}"
