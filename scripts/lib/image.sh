# shellcheck shell=bash
# Sourced by scripts/build-local-image.sh and scripts/build-envoy-image.sh: the pieces of a `FROM
# scratch` image built with NO registry around one dynamically linked binary of this machine (its
# shared libraries and dynamic loader at their own paths, a minimal /etc, a writable /tmp). The
# caller defines log() first and runs from the checkout's root.

# Exits unless docker is installed and its engine answers.
require_docker() {
  command -v docker >/dev/null || { log "docker is not installed"; exit 1; }
  docker info >/dev/null 2>&1 || { log "the Docker engine does not answer (docker info)"; exit 1; }
}

# The libraries `ldd` lists for binary $1, one path a line. ldd lines: "libx.so => /path (0x..)" or
# "/lib64/ld-linux-x86-64.so.2 (0x..)"; linux-vdso has no path.
binary_libs() {
  ldd "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; break } }'
}

# Hash input lines for this library and the libraries given: each path and its content's hash.
hash_libs() {
  sha256sum scripts/lib/image.sh
  local lib
  for lib in "$@"; do echo "lib $lib"; sha256sum "$(readlink -f "$lib")"; done
}

# current TAG WHY: the image TAG is already built from these inputs; says so, prints it and exits 0.
current() {
  log "$1 is up to date ($2)"
  echo "$1"
  exit 0
}

# new_context NAME: sets CTX to a new build context folder (NAME.XXXXXX, removed on exit) and FS to
# its rootfs/, which the image's Dockerfile copies to /.
new_context() {
  CTX=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap 'rm -rf "$CTX"' EXIT
  FS=$CTX/rootfs
}

# build_image TAG WHY: builds $CTX as TAG (no BuildKit: no registry needed) and prints TAG.
build_image() {
  log "building $1 ($2)"
  DOCKER_BUILDKIT=0 docker build -q -t "$1" "$CTX" >&2
  echo "$1"
}

# make_rootfs FS BIN NAME USER LIB...: fills FS (copied to / in the image) with BIN as
# /usr/local/bin/NAME, the libraries LIB... at their own paths, /etc/passwd and /etc/group with
# USER (uid and gid 10001, home /home/USER, owned by it), /etc/nsswitch.conf and a writable /tmp.
make_rootfs() {
  local fs=$1 bin=$2 name=$3 user=$4 lib
  shift 4
  mkdir -p "$fs/usr/local/bin" "$fs/etc" "$fs/tmp" "$fs/home/$user"
  chmod 1777 "$fs/tmp"
  cp "$bin" "$fs/usr/local/bin/$name"
  for lib in "$@"; do
    mkdir -p "$fs$(dirname "$lib")"
    cp -L "$lib" "$fs$lib" # the loader keeps its own path (/lib64/...): it is written into the binary
  done
  cat >"$fs/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
$user:x:10001:10001:$user:/home/$user:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
  cat >"$fs/etc/group" <<EOF
root:x:0:
$user:x:10001:
nogroup:x:65534:
EOF
  echo "hosts: files dns" >"$fs/etc/nsswitch.conf"
  # /home/USER must belong to the user; COPY makes everything root-owned, so hand it over by id.
  chown -R 10001:10001 "$fs/home/$user" 2>/dev/null || true
}
