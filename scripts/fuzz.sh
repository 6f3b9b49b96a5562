#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzzer.cc) with clang into build-fuzz/ and runs each
# one from its seed corpus (fuzz/corpus/<target>/) for a short time. Any crash (abort,
# sanitizer report, timeout, out of memory) fails the run; its input is saved as
# build-fuzz/crashes/<target>/crash-*. Ends with a summary line "fuzz: N passed, M failed".
#
# Usage: scripts/fuzz.sh [target ...]      (default: every target)
# Environment:
#   CATTLE_FUZZ_SECONDS  time budget per target (default 15), as -max_total_time
#   CATTLE_FUZZ_RUNS     a number of inputs per target instead of a time budget (-runs)
#   CATTLE_FUZZ_ARGS     more libFuzzer flags, e.g. "-jobs=2" or "-dict=..."
#   CATTLE_FUZZ_BUILD    the build dir (default build-fuzz)
# New inputs the fuzzer finds stay in build-fuzz/corpus/<target>/ (not in the repo), and
# later runs start from them too.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${CATTLE_FUZZ_BUILD:-build-fuzz}"
SECONDS_EACH="${CATTLE_FUZZ_SECONDS:-15}"
RUNS="${CATTLE_FUZZ_RUNS:-}"

LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$BUILD" -G Ninja -DCATTLE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${LAUNCHER[@]}" >/dev/null

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in fuzz/*_fuzzer.cc; do targets+=("$(basename "$src" .cc)"); done
fi
cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}"

# Leaks are not crashes here (caches built once per process are never freed).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0
failed=0
for t in "${targets[@]}"; do
  name="${t%_fuzzer}"
  seeds="fuzz/corpus/$name"
  work="$BUILD/corpus/$name"
  crashes="$BUILD/crashes/$name"
  mkdir -p "$work" "$crashes"
  limit=(-max_total_time="$SECONDS_EACH")
  if [ -n "$RUNS" ]; then limit=(-runs="$RUNS"); fi
  # Inputs that once crashed or hung (fuzz/corpus/crashes/<target>/) run again every time.
  known=()
  if [ -d "fuzz/corpus/crashes/$name" ]; then known=("fuzz/corpus/crashes/$name"); fi
  log="$BUILD/$t.log"
  t0=$(date +%s)
  stamp="$BUILD/$t.started"
  touch "$stamp"
  # -timeout: one input running longer than 10 s is a hang; -rss_limit_mb bounds growth.
  # shellcheck disable=SC2086
  if "$BUILD/bin/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$crashes/" ${CATTLE_FUZZ_ARGS:-} "$work" "$seeds" ${known[@]+"${known[@]}"} >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz: $t ok (${runs:-?} inputs, $(( $(date +%s) - t0 )) s)"
    passed=$((passed + 1))
  else
    echo "fuzz: $t FAILED after $(( $(date +%s) - t0 )) s; log $log, input in $crashes/:"
    grep -E 'ERROR: |SUMMARY: |runtime error|invariant broken|Test unit written' "$log" | head -20 || true
    # The input, so that a CI log alone reproduces the crash.
    find "$crashes" -type f -newer "$stamp" -size -4097c | while read -r f; do
      echo "fuzz: $(basename "$f") base64: $(base64 -w0 "$f")"
    done
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
