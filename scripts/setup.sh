#!/usr/bin/env bash
# Installs every dependency of mopt: system packages from Debian, LibTorch (the official PyTorch
# wheel, pinned in scripts/requirements.txt) into the project-local .venv/, ONNX Runtime's Node.js
# binding from npm. Idempotent: what is already present is skipped, so a second run costs seconds.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config zlib1g-dev libssl-dev curl ca-certificates
  python3-venv libprotobuf-dev protobuf-compiler
  libcli11-dev nlohmann-json3-dev libfmt-dev doctest-dev libvalijson-dev libgloo-dev libyaml-cpp-dev libre2-dev
  libopenblas0-pthread bc
  python3-torch python3-torchvision python3-onnx python3-numpy python3-jsonschema
  dataset-fashion-mnist libonnx-testdata
)
# Callers add their own on top (scripts/setup_fuzz.sh: clang and its sanitizer runtime).
read -r -a extra <<<"${MOPT_EXTRA_PACKAGES:-}"
packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all system packages present" >&2
fi

# LibTorch 2.x: the PyTorch wheel holds its headers, libraries and CMake config (CMakeLists.txt finds
# it in .venv/). The system Python stays untouched; Debian's python3-torch only makes the old fixtures.
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/scripts/requirements.txt"
stamp="$root/.venv/.mopt-requirements"
if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
  echo "setup: installing scripts/requirements.txt into .venv/ (LibTorch from the PyTorch wheel)" >&2
  [ -x "$root/.venv/bin/python" ] || /usr/bin/python3 -m venv "$root/.venv"
  "$root/.venv/bin/pip" install -q --disable-pip-version-check -r "$req" 2> >(grep -v "is ignored: it is neither" >&2)
  cp "$req" "$stamp"
else
  echo "setup: .venv/ matches scripts/requirements.txt" >&2
fi
bash "$root/scripts/setup_onnx.sh"

# ONNX Runtime for measuring .onnx files: its official Node.js binding from the npm registry, pinned
# by lib/runtime/ort/package-lock.json (--ignore-scripts: the CPU library ships in the package).
if command -v npm >/dev/null && [ ! -d "$root/lib/runtime/ort/node_modules/onnxruntime-node" ]; then
  (cd "$root/lib/runtime/ort" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
    || echo "setup: warning: onnxruntime-node did not install; mopt bench --runtime onnxruntime will say how to fix it" >&2
fi

# Without OpenBLAS, Debian's reference BLAS makes fp32 Linear layers ~25x slower.
if command -v update-alternatives >/dev/null; then
  blas=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas-pthread | head -1 || true)
  if [ -n "$blas" ]; then
    ${sudo_cmd:-} update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas" >/dev/null 2>&1 || true
  fi
fi
