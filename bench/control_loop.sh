#!/usr/bin/env bash
# Benchmarks of the control loop (issue 3), against real processes started with `cattle up`
# in temporary directories on free loopback ports. Builds what they need, runs each and
# prints the figures:
#   failover    SIGKILL of a kubelet -> Unknown -> first eviction -> replacements Running
#   throughput  1000 hollow nodes, 10,000 pending pods: scheduler start -> all bound
#   scheduler   the same in one process with Node objects (scheduler_perf's shape)
#   startup     create -> Running (watch) with 100 pods/s of churn
#   up          `cattle up --nodes 3` until every node is Ready
#   rss         RSS of one kubelet with 30 pods
#
# BUILD_DIR (default build-bench) is where it builds; FAILOVER_REPS (10), UP_REPS (5) and
# STARTUP_SECONDS (30) size the runs; pass benchmark names to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build-bench}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$BUILD_DIR" cattle-apiserver cattle-scheduler cattle-controller-manager cattle-kubelet cattle-cli \
  control_loop_bench >/dev/null
bench="$BUILD_DIR/bin/control_loop_bench"
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(up rss startup failover scheduler throughput)
for b in "${which[@]}"; do
  case "$b" in
    failover) "$bench" failover --reps "${FAILOVER_REPS:-10}" --time-scale 20 ;;
    throughput) "$bench" throughput --nodes 1000 --pods 10000 ;;
    scheduler) "$bench" scheduler --nodes 1000 --pods 10000 ;;
    startup) "$bench" startup --rate 100 --seconds "${STARTUP_SECONDS:-30}" ;;
    up) "$bench" up --reps "${UP_REPS:-5}" --nodes 3 ;;
    rss) "$bench" rss --pods 30 ;;
    *) echo "unknown benchmark: $b (failover throughput scheduler startup up rss)" >&2; exit 2 ;;
  esac
  echo
done
