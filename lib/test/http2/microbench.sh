#!/usr/bin/env bash
# CPU per request of our HTTP/2 layer against node:http2's, both roles:
# - server: a fixed 200 over h2c under `h2load -c 50 -m 10` (dist/lib/http2/fixed_server.js against
#   node_fixed_server.mjs); CPU is the server process's utime+stime from /proc/<pid>/stat (as
#   loadtest/proc.ts reads it), over the measured run only;
# - client: client_bench.mjs (50 connections x 10 streams) against our fixed server; CPU of the client;
# - hop: forwarder.mjs, an h2c -> h2c relay on each layer in front of our fixed server, under the same
#   h2load; CPU of the forwarder (what the HTTP/2 layer costs a proxy's h2 -> h2 hop).
#   bash lib/test/http2/microbench.sh [requests=200000] [rounds=3]
# Needs `npx tsc -b tsconfig.build.json` first, and h2load. Pins the server to core 0 and h2load to core 1
# when taskset is there.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-200000}
ROUNDS=${2:-3}
TCK=$(getconf CLK_TCK)
pin_srv=(); pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then pin_srv=(taskset -c 0); pin_load=(taskset -c 1); fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # name, command...
  local name=$1; shift
  local log; log=$(mktemp)
  "${pin_srv[@]}" "$@" 0 >"$log" &
  local pid=$!
  for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
  local port; port=$(awk '/listening/{print $2}' "$log")
  "${pin_load[@]}" h2load -c 50 -m 10 -n 20000 "http://127.0.0.1:$port/" >/dev/null # warm-up
  for r in $(seq "$ROUNDS"); do
    local before; before=$(cpu_ticks "$pid")
    local out; out=$("${pin_load[@]}" h2load -c 50 -m 10 -n "$N" "http://127.0.0.1:$port/")
    local after; after=$(cpu_ticks "$pid")
    local ok; ok=$(echo "$out" | awk '/^requests:/{print $8}')
    local rps; rps=$(echo "$out" | awk '/^finished in/{print $4}')
    local rss; rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
    awk -v n="$name" -v r="$r" -v t=$((after - before)) -v hz="$TCK" -v ok="$ok" -v rps="$rps" -v rss="$rss" \
      'BEGIN { printf "%-10s round %d: %6.1f us CPU/req  %s req/s  %s succeeded  RSS %d MiB\n", n, r, t / hz * 1e6 / ok, rps, ok, rss / 1024 }'
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$log"
}

run ours node dist/lib/http2/fixed_server.js
run node:http2 node lib/test/http2/node_fixed_server.mjs

log=$(mktemp)
"${pin_srv[@]}" node dist/lib/http2/fixed_server.js 0 >"$log" &
server=$!
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
port=$(awk '/listening/{print $2}' "$log")
for r in $(seq "$ROUNDS"); do
  for which in ours node; do "${pin_load[@]}" node lib/test/http2/client_bench.mjs "$which" "$port" "$N"; done
done
run "hop ours" node lib/test/http2/forwarder.mjs ours "$port"
run "hop node" node lib/test/http2/forwarder.mjs node "$port"
kill "$server"; wait "$server" 2>/dev/null || true
rm -f "$log"
