#!/usr/bin/env bash
# Sets up system dependencies, then configures and builds mopt into build/ with both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j "$(nproc)" "$@"
