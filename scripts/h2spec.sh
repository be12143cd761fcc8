#!/usr/bin/env bash
# h2spec (the HTTP/2 conformance suite, RFC 7540/9113 and RFC 7541) against our HTTP/2 layer
# (lib/http2/) on an h2c listener: builds dist/, installs h2spec with `go install` when missing, starts
# dist/lib/http2/fixed_server.js on a free port, runs every test case (strict ones included), exits
# non-zero on any failure.
#   bash scripts/h2spec.sh [extra h2spec flags, e.g. -j report.xml or a spec like http2/6.9]
set -euo pipefail
cd "$(dirname "$0")/.."

H2SPEC=$(command -v h2spec || true)
if [ -z "$H2SPEC" ]; then
  H2SPEC="$(go env GOPATH)/bin/h2spec"
  if [ ! -x "$H2SPEC" ]; then
    echo "installing h2spec with go install" >&2
    go install github.com/summerwind/h2spec/cmd/h2spec@latest
  fi
fi

npx tsc -b tsconfig.build.json

log=$(mktemp)
node dist/lib/http2/fixed_server.js 0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^listening' "$log" && break; sleep 0.1; done
port=$(awk '/^listening/ {print $2}' "$log")
if [ -z "$port" ]; then
  echo "the test server did not start:" >&2
  cat "$log" >&2
  exit 1
fi

# h2spec exits 1 when a test case fails.
"$H2SPEC" -h 127.0.0.1 -p "$port" --strict -o 5 "$@"
