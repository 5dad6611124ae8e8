#!/usr/bin/env bash
# Builds the ONNX C++ library (checker, shape inference, function inliner) that mopt links, from the
# source distribution of the onnx package on PyPI, pinned by version and SHA-256, into .deps/onnx/.
# Debian 12's libonnx is ONNX 1.12, which knows opsets up to 17 only; today's exporters write 18-21.
# Static, against Debian's shared protobuf (the one LibTorch's headers do not see). Idempotent: a
# finished build is kept (the stamp names the version), so a second run costs nothing.
# Called by scripts/setup.sh after .venv/ exists (its pinned cmake: ONNX 1.23 needs CMake >= 3.26).
set -euo pipefail

version=1.23.2
sha256=008cb0467b2bbee41448acc7da8b6f4e704624cb0d327a2d5adafc7ce19bc5b8
url=https://files.pythonhosted.org/packages/3f/62/bc2dfadb63ecf04cb2d65a6b17751863039d36c65de51d6a3128ab35f1e7/onnx-$version.tar.gz

root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.deps/onnx"
stamp="$prefix/.mopt-onnx-version"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
  echo "setup: ONNX $version present in .deps/onnx" >&2
  exit 0
fi

work="$root/.deps/onnx-build"
rm -rf "$work" "$prefix"
mkdir -p "$work"
echo "setup: building ONNX $version (C++ library, from PyPI's source distribution) into .deps/onnx (a few minutes)" >&2
curl -sSfL --retry 3 -o "$work/onnx.tar.gz" "$url"
echo "$sha256  $work/onnx.tar.gz" | sha256sum -c --quiet
tar -xzf "$work/onnx.tar.gz" -C "$work"
"$root/.venv/bin/cmake" -S "$work/onnx-$version" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF \
  -DONNX_ML=1 -DONNX_NAMESPACE=onnx -DONNX_USE_PROTOBUF_SHARED_LIBS=ON -DONNX_BUILD_PYTHON=OFF \
  -DONNX_BUILD_TESTS=OFF -DONNX_GEN_PB_TYPE_STUBS=OFF >"$work/configure.log"
"$root/.venv/bin/cmake" --build "$work/build" -j "$(nproc)" >"$work/build.log"
"$root/.venv/bin/cmake" --install "$work/build" >"$work/install.log"
echo "$version" >"$stamp"
rm -rf "$work"
