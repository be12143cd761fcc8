#!/usr/bin/env bash
# The seed as published, with our image: the post's two docker-compose setups run with docker-compose
# (Debian's 1.29), each YAML as published but for its `image:` lines (our image in place of
# envoyproxy/envoy and zcong/echo) and the one documented fix of the sidecar's self-loop:
#
#   part 1  "simple-proxy.yaml": a front Envoy round robin over two zcong/echo services
#   part 2  docker-compose.yml: the sidecar mesh (front -h2c-> an Envoy sidecar in each service
#           container -HTTP/1.1-> its echo), services built from Dockerfile-service
#
# For each: `docker-compose up -d`, the post's curl commands against localhost:9000 (and the
# README's), a WebSocket round trip on /ws, checks of the answers (the two echo instances alternate;
# in part 2 the front spoke HTTP/2 to the sidecars and each sidecar HTTP/1.1 to its echo), then
# `docker-compose down` (always, also on failure or Ctrl-C). Prints `seed compose: ok` and exits 0
# when every check passed, else names the failed checks and exits 1.
#
#   bash scripts/seed-compose.sh            # both parts
#   bash scripts/seed-compose.sh 2          # part 2 only
#
# Environment:
#   ECHOMESH_IMAGE            the image (default: built by scripts/build-local-image.sh, echomesh:local)
#   ECHOMESH_SKIP_BUILD       1 = the image script does not run `npm run build` first
#   ECHOMESH_SEED_PORT        host port for the post's 9000 (default 9000: the compose files as published)
#   ECHOMESH_SEED_ADMIN_PORT  host port for the post's 8001 (default 8001)
#   ECHOMESH_SEED_DIR         a folder with the post's files, searched before seeds/
#   ECHOMESH_SEED_KEEP        1 = keep the work folder (the compose files as run)
set -uo pipefail

cd "$(dirname "$0")/.."
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 # no registry: the classic builder, FROM a local image
PORT=${ECHOMESH_SEED_PORT:-9000}
ADMIN_PORT=${ECHOMESH_SEED_ADMIN_PORT:-8001}
export BASE=localhost:$PORT # the post's variable
PARTS=("$@")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(1 2)
log() { echo "[seed-compose] $*"; }
failures=()
check() { # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then log "ok: $name"; else log "FAILED: $name"; failures+=("$name"); fi
}

command -v docker-compose >/dev/null || { log "docker-compose is not installed (apt-get install docker-compose)"; exit 1; }
docker info >/dev/null 2>&1 || { log "the Docker engine does not answer (docker info)"; exit 1; }
if [ -z "${ECHOMESH_IMAGE:-}" ] || ! docker image inspect "$ECHOMESH_IMAGE" >/dev/null 2>&1; then
  IMAGE=$(bash scripts/build-local-image.sh | tail -n 1) || { log "the image did not build"; exit 1; }
else
  IMAGE=$ECHOMESH_IMAGE
fi
log "image: $IMAGE"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/echomesh-seed-compose.XXXXXX")
PROJECT=""
DIR=""
teardown() {
  if [ -n "$PROJECT" ]; then
    log "tearing down $PROJECT"
    docker-compose -p "$PROJECT" -f "$DIR/docker-compose.yml" down -v --rmi local --remove-orphans -t 3 >/dev/null 2>&1
    # anything compose did not remove (a crashed `up`): by the project's label
    local left
    left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    [ -n "$left" ] && docker rm -f -v $left >/dev/null 2>&1
    PROJECT=""
  fi
}
cleanup() {
  teardown
  if [ "${ECHOMESH_SEED_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node dist/scripts/seed-compose.js prepare "$WORK" "$IMAGE" | sed 's/^/[seed-compose] /' || exit 1

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# up PART PROJECT: starts the part's compose project and waits until the front answers with an echo.
up() {
  DIR=$WORK/part$1
  PROJECT=$2
  log "part $1: changes from the published compose file ($(published_compose "$1")):"
  diff "$(published_compose "$1")" "$DIR/docker-compose.yml" | sed 's/^/    /'
  for p in "$PORT" "$ADMIN_PORT"; do
    port_free "$p" || { log "port $p is taken on this machine (ECHOMESH_SEED_PORT / ECHOMESH_SEED_ADMIN_PORT move it)"; return 1; }
  done
  log "part $1: docker-compose up -d ($PROJECT)"
  docker-compose -p "$PROJECT" -f "$DIR/docker-compose.yml" up -d --build 2>&1 | sed 's/^/    /'
  [ "${PIPESTATUS[0]}" -eq 0 ] || { log "docker-compose up failed"; return 1; }
  local i
  for i in $(seq 1 120); do
    if curl -s -m 2 -D- -o /dev/null "$BASE" | grep -qi '^x-echo-instance:'; then
      log "part $1: answering after $((i / 4)).$(((i % 4) * 25))s"
      return 0
    fi
    sleep 0.25
  done
  log "part $1: no echo answered on $BASE within 30 s"
  docker-compose -p "$PROJECT" -f "$DIR/docker-compose.yml" logs --tail 20 2>&1 | sed 's/^/    /'
  return 1
}

published_compose() {
  node --input-type=module -e "
    import { findSeedFile } from './dist/scripts/seed-compose.js';
    console.log(findSeedFile(process.argv[1]));" "$([ "$1" = 1 ] && echo simple-proxy.yaml || echo docker-compose.yml)"
}

# The echo instance that answers GET $BASE, N times (one connection each, as the post's curl).
instances() {
  local n=$1 i
  for i in $(seq 1 "$n"); do
    curl -s -m 5 -D- -o /dev/null "$BASE" | tr -d '\r' | sed -n 's/^x-echo-instance: //Ip'
  done
}

alternates() { # the instances alternate between exactly two
  local seq=("$@") i
  [ "$(printf '%s\n' "${seq[@]}" | sort -u | wc -l)" -eq 2 ] || return 1
  for ((i = 1; i < ${#seq[@]}; i++)); do [ "${seq[i]}" != "${seq[i - 1]}" ] || return 1; done
}

# The service a container hostname (x-echo-instance) belongs to.
service_of() {
  docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.ID}} {{.Label "com.docker.compose.service"}}' |
    awk -v id="$1" 'index($1, id) == 1 || index(id, $1) == 1 { print $2 }'
}

# The post's commands, printed as the post shows them, with their answers.
post_commands() {
  log "\$ export BASE=$BASE"
  log "\$ curl \$BASE"
  get=$(curl -s -m 5 "$BASE")
  echo "$get" | sed 's/^/    /'
  log "\$ curl -X POST \$BASE/echo -H 'Content-Type: application/json' -d '{\"name\": \"zcong\"}'"
  post=$(curl -s -m 5 -X POST "$BASE/echo" -H 'Content-Type: application/json' -d '{"name": "zcong"}')
  echo "$post" | sed 's/^/    /'
  log "\$ curl -s -D- -o /dev/null \$BASE | grep x-echo   (the README's: who answered)"
  curl -s -m 5 -D- -o /dev/null "$BASE" | grep -i x-echo | sed 's/^/    /'
  check "GET \$BASE echoes the request headers" grep -qi "^user-agent:\[curl/" <<<"$get"
  check "POST \$BASE/echo returns the JSON body" test "$post" = '{"name": "zcong"}'
}

round_robin() {
  mapfile -t seq < <(instances 6)
  local named=() id
  for id in "${seq[@]}"; do named+=("$id($(service_of "$id"))"); done
  log "6 x GET \$BASE answered by: ${named[*]}"
  check "both echo instances answer, round robin" alternates "${seq[@]}"
}

websocket() {
  log "WebSocket ws://$BASE/ws:"
  check "WebSocket round trip on /ws" node dist/scripts/seed-compose.js ws "ws://$BASE/ws"
}

stat_of() { sed -n "s/^$2: //p" <<<"$1" | head -n 1; }
positive() { [ -n "$1" ] && [ "$1" -gt 0 ]; }

# Part 2's mesh path: front -h2c-> sidecars -HTTP/1.1-> echoes, from the proxies' own stats.
mesh_path() {
  log "\$ curl localhost:$ADMIN_PORT/stats | grep http2   (the README's: the HTTP/2 hop)"
  local front
  front=$(curl -s -m 5 "localhost:$ADMIN_PORT/stats")
  grep http2 <<<"$front" | grep -v ': 0$' | sed 's/^/    /'
  check "the front spoke HTTP/2 to the sidecars" positive "$(stat_of "$front" cluster.myservice.upstream_cx_http2_total)"
  local svc id stats
  for svc in service1 service2; do
    id=$(docker-compose -p "$PROJECT" -f "$DIR/docker-compose.yml" ps -q "$svc")
    stats=$(docker exec "$id" /usr/local/bin/node -e \
      'fetch("http://127.0.0.1:8001/stats").then((r) => r.text()).then((t) => process.stdout.write(t))' 2>&1)
    log "$svc's sidecar: $(grep -E 'downstream_cx_http2_total|myservice.upstream_cx_http1_total|myservice.upstream_rq_total' <<<"$stats" | tr '\n' ' ')"
    check "$svc's sidecar was reached over HTTP/2" positive "$(stat_of "$stats" http.ingress_http.downstream_cx_http2_total)"
    check "$svc's sidecar spoke HTTP/1.1 to its echo" positive "$(stat_of "$stats" cluster.myservice.upstream_cx_http1_total)"
  done
  check "the echo saw HTTP/1.1 (x-echo-protocol)" bash -c "curl -s -m 5 -D- -o /dev/null '$BASE' | grep -qi '^x-echo-protocol: HTTP/1.1'"
}

started_at=$SECONDS
for part in "${PARTS[@]}"; do
  case $part in
    1)
      log "=== part 1: front proxy + two echo services (the post's simple-proxy.yaml)"
      if up 1 echomesh-seed1; then
        post_commands
        round_robin
        websocket
      else
        failures+=("part 1 up")
      fi
      teardown
      ;;
    2)
      log "=== part 2: the sidecar mesh (the post's docker-compose.yml)"
      if up 2 echomesh-seed2; then
        post_commands
        round_robin
        websocket
        mesh_path
      else
        failures+=("part 2 up")
      fi
      teardown
      ;;
    *) log "no part $part (1 or 2)"; failures+=("part $part") ;;
  esac
done

log "done in $((SECONDS - started_at)) s"
if [ ${#failures[@]} -eq 0 ]; then
  log "seed compose: ok"
  exit 0
fi
log "seed compose: ${#failures[@]} checks failed: $(IFS=';'; echo "${failures[*]}")"
exit 1
