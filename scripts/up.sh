#!/usr/bin/env bash
# The README's first command: install dependencies, build, start a local cluster.
# Arguments are passed to `cattle up` (e.g. --nodes 3 --time-scale 10).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/cattle up "$@"
