#!/usr/bin/env bash
# Builds the client benchmarks in Release and runs each at full size, one after the other (they
# would disturb each other's figures if run together). About three minutes in all; the output
# is also kept in $build/client_bench.log. See docs/benchmarks.md, "Client".
#
#   tests/bench/run_client_bench.sh [build-dir]     (default: build-bench)
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${1:-build-bench}
jobs=${SSEKIT_JOBS:-2}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSSEKIT_BUILD_PYTHON=OFF >/dev/null
cmake --build "$build" -j"$jobs" \
  --target client_bench idle_streams_bench reconnect_storm_bench idle_stream_server

bench="$build/tests/bench"
{
  echo "== $(date -u +%FT%TZ) on $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== client_bench"
  "$bench/client_bench" --repetitions=5
  echo "== idle_streams_bench"
  "$bench/idle_streams_bench" --streams=10000 --tls-streams=1000 --idle-seconds=30
  echo "== reconnect_storm_bench"
  "$bench/reconnect_storm_bench" --clients=1000 --downtime-ms=2500
} 2>&1 | tee "$build/client_bench.log"
