#!/usr/bin/env bash
# Installs what the fuzz/sanitizer build needs on top of scripts/setup.sh: clang and its runtime
# (libFuzzer, ASan, UBSan) from Debian's packages. Idempotent, like setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
MOPT_EXTRA_PACKAGES="clang libclang-rt-14-dev" bash scripts/setup.sh
