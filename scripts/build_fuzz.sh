#!/usr/bin/env bash
# Builds the clang ASan+UBSan+libFuzzer tree in build-fuzz/: the fuzz driver (mopt_fuzz) and, with
# `--tests`, the sanitized unit tests (mopt_tests), with `--all` those, the CLI (mopt) and the ONNX
# conformance runner: everything ctest runs. Separate from build/ (gcc, Release).
#   bash scripts/build_fuzz.sh [--tests | --all]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_fuzz.sh
targets=(mopt_fuzz)
[ "${1:-}" = "--tests" ] && targets+=(mopt_tests)
[ "${1:-}" = "--all" ] && targets+=(mopt_tests mopt mopt_onnx_conformance)
# "Sanitize" is no CMake build type on purpose: no -O3 and no NDEBUG, so assertions stay on.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_COMPILER=clang++ -DMOPT_FUZZ=ON >/dev/null
# Two jobs at most: clang with LibTorch's headers needs ~1.5 GB per job, and the machine is shared.
ninja -C build-fuzz -j "$(( $(nproc) < 2 ? $(nproc) : 2 ))" "${targets[@]}"
