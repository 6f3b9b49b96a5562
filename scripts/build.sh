#!/usr/bin/env bash
# Configures and builds cattle into build/ (binaries in build/bin/). Uses ccache when it is
# installed (it is not required).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${CATTLE_BUILD_TYPE:-RelWithDebInfo}"
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "${LAUNCHER[@]}" >/dev/null
cmake --build build -j "$(nproc)"
