#!/usr/bin/env bash
# Builds the `echomesh` image with NO registry, in two steps:
#
# 1. the base image (echomesh-base:local): `FROM scratch` with this machine's own `node` binary, its
#    shared libraries (and the dynamic loader, at their own paths), a minimal /etc/passwd and
#    /etc/group (root, echomesh 10001, nobody), /etc/nsswitch.conf, /tmp and /home/echomesh (10001);
#    the stand-in for echo/Dockerfile's node:20-slim;
# 2. docker/Dockerfile.local, multi-stage FROM that base: a build stage that lays out /app and the
#    shims with node (dist/scripts/lib/image_assemble.js), and the runtime stage, the same as
#    echo/Dockerfile's (labels, user 10001, HEALTHCHECK, ENTRYPOINT node /app/dist/scripts/entry.js,
#    CMD ["echo"], EXPOSE 8080). Its build context is streamed as a tar: the Dockerfile,
#    package.json, package-lock.json, the host-built dist/ (without the test suites and source maps)
#    and the production dependencies (`npm ls --omit=dev`), copied from ./node_modules (no network).
#
# So both of
#   docker run IMAGE echo
#   docker run IMAGE /usr/local/bin/envoy -c /etc/front-envoy.yaml --service-cluster front-proxy
# work as the seed's compose files write them. See docs/IMAGES.md.
#
# Idempotent: the inputs are hashed into the label org.echomesh.hash of each image; when a tag already
# carries its hash nothing is rebuilt.
# Interface: prints the image tag on its last line and exits 0 on success.
#
# Environment:
#   ECHOMESH_IMAGE       tag to build (default echomesh:local)
#   ECHOMESH_BASE_IMAGE  tag of the base image (default echomesh-base:local)
#   ECHOMESH_SKIP_BUILD  1 = do not run `npm run build` (incremental) first
#   ECHOMESH_FORCE       1 = rebuild even when the hashes match
#   ECHOMESH_SOURCE      the org.opencontainers.image.source label (default: package.json's
#                        repository, else the Dockerfile's default)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TAG=${ECHOMESH_IMAGE:-echomesh:local}
BASE_TAG=${ECHOMESH_BASE_IMAGE:-echomesh-base:local}
DOCKERFILE=docker/Dockerfile.local
log() { echo "[build-local-image] $*" >&2; }
# shellcheck source=scripts/lib/image.sh
source scripts/lib/image.sh
require_docker
# One build at a time per tag (test files run in parallel and each asks for the image): a second
# caller waits here, then finds the image current.
exec 9>"${TMPDIR:-/tmp}/echomesh-build-local-image.${TAG//[^A-Za-z0-9_.-]/_}.lock"
flock 9

# 1. The app: `npm run build` is incremental (tsc -b: about a second when nothing changed).
if [ "${ECHOMESH_SKIP_BUILD:-0}" != 1 ]; then
  npm run build --silent >&2 || log "tsc reported errors (output kept; see above)"
fi
for f in dist/echo/main.js dist/proxy/main.js dist/scripts/entry.js dist/scripts/healthcheck.js \
  dist/scripts/lib/image_assemble.js; do
  [ -f "$f" ] || { log "missing $f: run npm run build"; exit 1; }
done

label_of() { docker image inspect "$1" --format "{{index .Config.Labels \"$2\"}}" 2>/dev/null || true; }

# 2. The base image: node, its libraries, /etc, /tmp, /home/echomesh.
NODE_BIN=$(readlink -f "$(command -v node)")
mapfile -t LIBS < <(binary_libs "$NODE_BIN")
BASE_HASH=$({
  sha256sum "$0"
  echo "node $NODE_BIN"; sha256sum "$NODE_BIN"
  hash_libs "${LIBS[@]}"
} | sha256sum | cut -c1-32)
if [ "${ECHOMESH_FORCE:-0}" != 1 ] && [ "$(label_of "$BASE_TAG" org.echomesh.hash)" = "$BASE_HASH" ]; then
  log "$BASE_TAG is up to date (hash $BASE_HASH)"
else
  new_context echomesh-base-image
  make_rootfs "$FS" "$NODE_BIN" node echomesh "${LIBS[@]}"
  # COPY makes every file root-owned: the home folder is copied apart, handed to 10001 by --chown.
  mkdir -p "$CTX/home/echomesh"
  rm -rf "$FS/home"
  cat >"$CTX/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
COPY --chown=10001:10001 home/ /home/
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL org.echomesh.base=1 org.echomesh.hash=$BASE_HASH
CMD ["/usr/local/bin/node"]
EOF
  build_image "$BASE_TAG" "base: node $("$NODE_BIN" --version), hash $BASE_HASH" >/dev/null
  rm -rf "$CTX"
fi
BASE_ID=$(docker image inspect "$BASE_TAG" --format '{{.Id}}')

# 3. The app image from docker/Dockerfile.local.
VERSION=$(node -p 'require("./package.json").version')
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE=${ECHOMESH_SOURCE:-$(node -p 'const r = require("./package.json").repository; (typeof r === "string" ? r : r?.url ?? "").replace(/^git\+/, "").replace(/\.git$/, "")')}
mapfile -t PROD_DEPS < <(npm ls --omit=dev --parseable --all 2>/dev/null | sed -n "s|^$ROOT/||p" | sort -u)
# A nested dependency is inside its parent's folder already.
DEP_DIRS=()
for dep in "${PROD_DEPS[@]}"; do
  case "$dep" in node_modules/*) ;; *) continue ;; esac
  if [ ${#DEP_DIRS[@]} -gt 0 ] && [[ "$dep/" == "${DEP_DIRS[-1]}"/* ]]; then continue; fi
  DEP_DIRS+=("$dep")
done
[ ${#DEP_DIRS[@]} -gt 0 ] || { log "npm ls --omit=dev lists no dependencies: run npm ci"; exit 1; }
# dist/ as the image gets it: no test suites, tests, source maps, type declarations or build stamps.
DIST_EXCLUDES=(--exclude=dist/conformance --exclude=dist/loadtest --exclude='dist/*/test' --exclude='dist/*.map' --exclude='dist/*.d.ts'
  --exclude='dist/.tsbuildinfo' --exclude='dist/.*stamp')

HASH=$({
  sha256sum "$0" "$DOCKERFILE"
  echo "base $BASE_ID version $VERSION revision $REVISION source $SOURCE"
  sha256sum package.json package-lock.json
  printf '%s\n' "${DEP_DIRS[@]}"
  find dist -type f -name '*.js' ! -path 'dist/conformance/*' ! -path 'dist/loadtest/*' ! -path '*/test/*' -print0 |
    sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-32)
if [ "${ECHOMESH_FORCE:-0}" != 1 ] && [ "$(label_of "$TAG" org.echomesh.hash)" = "$HASH" ]; then
  current "$TAG" "hash $HASH"
fi

log "building $TAG from $DOCKERFILE on $BASE_TAG (hash $HASH)"
build_args=(--build-arg "BASE=$BASE_TAG" --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION")
[ -n "$SOURCE" ] && build_args+=(--build-arg "SOURCE=$SOURCE")
# The context as a tar on stdin: exactly these files, with no copy on disk.
tar -c "${DIST_EXCLUDES[@]}" -f - "$DOCKERFILE" package.json package-lock.json dist "${DEP_DIRS[@]}" |
  DOCKER_BUILDKIT=0 docker build -q -f "$DOCKERFILE" "${build_args[@]}" --label "org.echomesh.hash=$HASH" \
    -t "$TAG" - >&2
# The build stage is not needed once the image exists.
docker image prune -f --filter "label=org.echomesh.base=1" --filter dangling=true >/dev/null 2>&1 || true
echo "$TAG"
