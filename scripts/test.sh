#!/usr/bin/env bash
# The README's second command (and CI's): install dependencies, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# The fuzzers (clang, build-fuzz/) run for a short budget each before the tests, so that
# ctest's summary closes the output; a crash fails the run after the tests have run too.
fuzz_rc=0
scripts/fuzz.sh || fuzz_rc=$?
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600
if [ "$fuzz_rc" -ne 0 ]; then
  echo "test.sh: the fuzzers failed (see the fuzz: lines above)" >&2
  exit "$fuzz_rc"
fi
