#!/usr/bin/env bash
# Benchmarks of issue "foundation": the store in-process, the apiserver over ZeroMQ, and
# etcd 3.4 (Debian's etcd-server) through its JSON gateway driven by wrk, side by side on
# this machine. Installs etcd-server and wrk when missing. Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
SECONDS_PER_LEVEL="${SECONDS_PER_LEVEL:-5}"
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
work=$(mktemp -d /tmp/cattle-bench-XXXXXX)
cleanup() { kill "${api_pid:-}" "${etcd_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "== store, in-process (RocksDB, durable, group commit)"
build/bin/store_bench --dir "$work/store" --seconds "$SECONDS_PER_LEVEL"

echo "== cattle-apiserver over ZeroMQ (durable creates, 1 KiB payload)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/bin/cattle-apiserver --data-dir "$work/api" --zmq-endpoint "tcp://127.0.0.1:$port" --http-port "$hport" \
  --log-level warn 2>"$work/api.log" &
api_pid=$!
build/bin/apiserver_bench --endpoint "tcp://127.0.0.1:$port" --seconds "$SECONDS_PER_LEVEL"
kill "$api_pid"; wait "$api_pid" 2>/dev/null || true; api_pid=

echo "== cattle-apiserver over HTTP (Kubernetes REST, JSON, 1 KiB ConfigMaps, keep-alive connections)"
build/bin/cattle-apiserver --data-dir "$work/api-http" --zmq-endpoint "tcp://127.0.0.1:$port" --http-port "$hport" \
  --log-level warn 2>"$work/api-http.log" &
api_pid=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
build/bin/http_bench --port "$hport" --seconds "$SECONDS_PER_LEVEL"
kill "$api_pid"; wait "$api_pid" 2>/dev/null || true; api_pid=

echo "== etcd $(etcd --version | head -1 | awk '{print $3}') through its JSON gateway (durable puts, 1 KiB), wrk"
etcd --data-dir "$work/etcd" --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
     --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
     --initial-cluster default=http://127.0.0.1:23800 --log-level error >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 100); do curl -s http://127.0.0.1:23790/health >/dev/null 2>&1 && break; sleep 0.1; done
for c in 1 16 64; do
  t=$(( c < 2 ? 1 : 2 ))
  printf "etcd    clients=%s  " "$c"
  wrk -t"$t" -c"$c" -d"${SECONDS_PER_LEVEL}s" --latency -s bench/put.lua http://127.0.0.1:23790 2>/dev/null \
    | awk '/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} END {printf "%d puts/s  p50=%s p99=%s\n", rps, p50, p99}'
done
