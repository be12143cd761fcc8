#!/usr/bin/env bash
# Builds an Envoy image with NO registry, the way scripts/build-local-image.sh builds the echomesh
# image: `FROM scratch` holding a local Envoy binary as /usr/local/bin/envoy, the shared libraries
# `ldd` lists for it (and the dynamic loader, at their own paths), a minimal /etc/passwd, /etc/group
# and /etc/nsswitch.conf, and a writable /tmp. The conformance suite's container driver runs it for
# the `envoy` target (docker run IMAGE envoy -c FILE --service-cluster X ...).
#
# The binary: $1, else ECHOMESH_ENVOY_BIN (the suite passes what lib/envoy.ts resolved), else the
# pinned one of scripts/install-envoy.sh (.envoy/venv; it installs nothing when it is already there).
#
# Tag: ${ECHOMESH_ENVOY_IMAGE_REPO:-echomesh-envoy}:<envoy version>-<content hash>, the hash of the
# binary, its libraries, this script and scripts/lib/image.sh: the same inputs give the same tag,
# and nothing is rebuilt when that tag exists. Labels: org.echomesh.hash, org.echomesh.envoy.version,
# org.opencontainers.image.{title,version}.
# Interface: prints the image tag on its last line and exits 0 on success.
#
# Environment:
#   ECHOMESH_ENVOY_BIN         the Envoy binary (when no argument is given)
#   ECHOMESH_ENVOY_IMAGE_REPO  repository part of the tag (default echomesh-envoy)
#   ECHOMESH_FORCE             1 = rebuild even when the tag exists
set -euo pipefail

SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/.."
log() { echo "[build-envoy-image] $*" >&2; }
# shellcheck source=scripts/lib/image.sh
source scripts/lib/image.sh
require_docker

# 1. The binary and its version.
ENVOY_BIN=${1:-${ECHOMESH_ENVOY_BIN:-}}
if [ -z "$ENVOY_BIN" ]; then
  ENVOY_BIN=$(bash scripts/install-envoy.sh) || { log "no Envoy binary: scripts/install-envoy.sh failed"; exit 1; }
fi
ENVOY_BIN=$(readlink -f "$ENVOY_BIN")
[ -x "$ENVOY_BIN" ] || { log "$ENVOY_BIN is not an executable"; exit 1; }
# `envoy --version` prints "<path>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
VERSION=$("$ENVOY_BIN" --version | sed -n 's|.*version: [0-9a-f]*/\([0-9][0-9.]*\)/.*|\1|p' | head -n1)
[ -n "$VERSION" ] || { log "$ENVOY_BIN --version names no version"; exit 1; }

# 2. Its libraries.
mapfile -t LIBS < <(binary_libs "$ENVOY_BIN")

HASH=$(
  {
    sha256sum "$SELF"
    sha256sum "$ENVOY_BIN"
    hash_libs "${LIBS[@]}"
  } | sha256sum | cut -c1-16
)
TAG=${ECHOMESH_ENVOY_IMAGE_REPO:-echomesh-envoy}:$VERSION-$HASH

if [ "${ECHOMESH_FORCE:-0}" != 1 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  current "$TAG" "Envoy $VERSION from $ENVOY_BIN"
fi

# 3. The build context.
new_context echomesh-envoy-image
make_rootfs "$FS" "$ENVOY_BIN" envoy envoy "${LIBS[@]}"
mkdir -p "$FS/etc/envoy"

cat >"$CTX/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin HOME=/home/envoy
USER 10001:10001
LABEL org.echomesh=1 org.echomesh.hash=$HASH org.echomesh.envoy.version=$VERSION \\
  org.opencontainers.image.title=echomesh-envoy org.opencontainers.image.version=$VERSION
CMD ["envoy", "--version"]
EOF

build_image "$TAG" "Envoy $VERSION from $ENVOY_BIN"
