#!/usr/bin/env bash
# Runs every libFuzzer target (or the ones named) for 1,000,000 inputs each, from its seed
# corpus plus what earlier runs found (build-fuzz/corpus/), and prints per target the inputs
# run, the time taken and whether it crashed. Long: from minutes (quantity, selector) to
# an hour or more (codecs) per target on this machine; run it with `nice`.
#
# Usage: bench/fuzz.sh [target ...]      CATTLE_FUZZ_RUNS=N changes the count.
set -euo pipefail
cd "$(dirname "$0")/.."
export CATTLE_FUZZ_RUNS="${CATTLE_FUZZ_RUNS:-1000000}"
start=$(date +%s)
rc=0
scripts/fuzz.sh "$@" || rc=$?
echo "bench/fuzz: $CATTLE_FUZZ_RUNS inputs per target, $(( $(date +%s) - start )) s in all"
exit "$rc"
