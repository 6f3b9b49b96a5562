#!/usr/bin/env bash
# Installs cattle's build and test dependencies from Debian's packages. Idempotent: does
# nothing when every package is present; runs `apt-get update` only when it must install.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config
  libzmq3-dev cppzmq-dev libsodium-dev
  capnproto libcapnp-dev
  librocksdb-dev
  libboost-dev libboost-program-options-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev nlohmann-json3-dev
  python3-kubernetes curl
  clang libclang-rt-dev  # scripts/fuzz.sh: libFuzzer and the sanitizer runtimes
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
