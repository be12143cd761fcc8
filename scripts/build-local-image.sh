#!/usr/bin/env bash
# Builds the `echomesh` image with NO registry: a `FROM scratch` image holding this machine's own
# `node` binary, its shared libraries (and the dynamic loader, at their own paths), a minimal
# /etc/passwd and /etc/group, the built app (dist/ without the conformance and loadtest suites, and
# package.json) and the
# production node_modules (copied from ./node_modules, filtered by `npm ls --omit=dev`).
#
# The image behaves like echo/Dockerfile's: ENTRYPOINT node /app/dist/scripts/entry.js, CMD ["echo"],
# user 10001, EXPOSE 8080, and /usr/local/bin/{envoy,echomesh-proxy,echomesh-echo} shims, so both
#   docker run IMAGE echo
#   docker run IMAGE /usr/local/bin/envoy -c /etc/front-envoy.yaml --service-cluster front-proxy
# work as the seed's compose files write them. See docs/IMAGES.md.
#
# Idempotent: the inputs (node binary, libraries, dist files, package files, this script and
# scripts/lib/image.sh) are hashed into the label org.echomesh.hash; when the tag already carries that hash nothing is rebuilt.
# Interface: prints the image tag on its last line and exits 0 on success.
#
# Environment:
#   ECHOMESH_IMAGE       tag to build (default echomesh:local)
#   ECHOMESH_SKIP_BUILD  1 = do not run `npm run build` (incremental) first
#   ECHOMESH_FORCE       1 = rebuild even when the hash matches
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TAG=${ECHOMESH_IMAGE:-echomesh:local}
log() { echo "[build-local-image] $*" >&2; }
# shellcheck source=scripts/lib/image.sh
source scripts/lib/image.sh
require_docker

# 1. The app: `npm run build` is incremental (tsc -b: about a second when nothing changed).
if [ "${ECHOMESH_SKIP_BUILD:-0}" != 1 ]; then
  npm run build --silent >&2 || log "tsc reported errors (output kept; see above)"
fi
for f in dist/echo/main.js dist/proxy/main.js dist/scripts/entry.js; do
  [ -f "$f" ] || { log "missing $f: run npm run build"; exit 1; }
done

# 2. Inputs: node, its libraries, the production dependencies.
NODE_BIN=$(readlink -f "$(command -v node)")
mapfile -t LIBS < <(binary_libs "$NODE_BIN")
# the runtime part of dist/: every folder but the test suites (echo, lib, proxy, scripts, ...)
mapfile -t APP_DIRS < <(find dist -mindepth 1 -maxdepth 1 -type d ! -name conformance ! -name loadtest | sort)
mapfile -t PROD_DEPS < <(npm ls --omit=dev --parseable --all 2>/dev/null | sed -n "s|^$ROOT/||p" | sort -u)

hash_inputs() {
  {
    sha256sum "$0"
    echo "node $NODE_BIN"; sha256sum "$NODE_BIN"
    hash_libs "${LIBS[@]}"
    sha256sum package.json package-lock.json
    printf '%s\n' "${PROD_DEPS[@]}"
    find "${APP_DIRS[@]}" -type f -name '*.js' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-32
}
HASH=$(hash_inputs)

if [ "${ECHOMESH_FORCE:-0}" != 1 ] &&
  [ "$(docker image inspect "$TAG" --format '{{index .Config.Labels "org.echomesh.hash"}}' 2>/dev/null)" = "$HASH" ]; then
  current "$TAG" "hash $HASH"
fi

# 3. The build context.
new_context echomesh-image
make_rootfs "$FS" "$NODE_BIN" node echomesh "${LIBS[@]}"
mkdir -p "$FS/app"

cp package.json "$FS/app/"
mkdir -p "$FS/app/dist"
cp -r "${APP_DIRS[@]}" "$FS/app/dist/"
find "$FS/app/dist" \( -name '*.map' -o -name '.*stamp' -o -path '*/test/*' \) -delete
copied=""
for dep in "${PROD_DEPS[@]}"; do
  case "$dep" in node_modules/*) ;; *) continue ;; esac
  # a nested dependency is already inside its parent's copy
  if [ -n "$copied" ] && [[ "$dep/" == "$copied"/* ]]; then continue; fi
  mkdir -p "$FS/app/$(dirname "$dep")"
  cp -a "$dep" "$FS/app/$dep"
  copied=$dep
done

# Shims: executables for commands the seed's compose files use, run by the image's own node.
for name in envoy echomesh-proxy echomesh-echo; do
  cat >"$FS/usr/local/bin/$name" <<EOF
#!/usr/local/bin/node
import("/app/dist/scripts/entry.js").then((m) => m.runEntry(["$name", ...process.argv.slice(2)]));
EOF
  chmod 755 "$FS/usr/local/bin/$name"
done

cat >"$CTX/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV NODE_ENV=production PATH=/usr/local/bin HOME=/home/echomesh
WORKDIR /app
USER 10001:10001
EXPOSE 8080
LABEL org.echomesh=1 org.echomesh.hash=$HASH org.opencontainers.image.title=echomesh
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/scripts/entry.js"]
CMD ["echo"]
EOF

build_image "$TAG" "hash $HASH"
