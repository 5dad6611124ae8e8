#!/usr/bin/env bash
# Installs what the fuzz/sanitizer build needs on top of scripts/setup.sh: clang and its runtime
# (libFuzzer, ASan, UBSan) from Debian's packages. Idempotent, like setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
packages=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup_fuzz: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
