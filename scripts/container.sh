#!/usr/bin/env bash
# Builds the bert-serve container image (Dockerfile) and runs it, with podman (no daemon needed) or
# docker.
#
#   scripts/container.sh [--local-base] build            build the image ($IMAGE)
#   scripts/container.sh [--local-base] run              run it in the foreground on $HOST_PORT
#   scripts/container.sh [--local-base] smoke            build, run detached, wait for /ready, curl
#                                                        /health, /info and POST /, check the image's
#                                                        HEALTHCHECK, stop (SIGTERM: drain), report
#   scripts/container.sh base                            only make the local base image (below)
#
# --local-base: build FROM localhost/debian:bookworm, made here from Debian's own packages
# (debootstrap + import) when it is missing, for hosts that cannot pull from a registry. Without it
# the Dockerfile's default, debian:bookworm-slim, is pulled.
#
# Environment:
#   IMAGE        image name (default bert-serve:latest)
#   MODEL        a model directory inside the repository to bake into the image (build); default
#                none, and `run` mounts MODEL_DIR instead
#   MODEL_DIR    a model directory on the host to mount read-only at /models/model (run, smoke;
#                default models/demo when no model is baked)
#   HOST_PORT    host port (default 8000; smoke picks a free one)
#   CPUS         CPU limit for the container (--cpus); the server sizes its threads by it
#   BUILD=0      smoke: test the existing $IMAGE without building it first
#   ENGINE       podman or docker (default: podman when installed)
#   APT_CACHE    a host directory of .deb files (e.g. /var/cache/apt/archives) that podman mounts as
#                an overlay into the build's apt steps, so packages the host has are not downloaded
#                again (podman only; the host directory is never written)
#   NPM_CACHE    the same for npm's cache (e.g. ~/.npm): npm ci in the build reads it first
#   EXTRA_CA_DIR a directory of *.crt files (default /usr/local/share/ca-certificates when it holds
#                any): mounted read-only where Debian's ca-certificates picks them up, for hosts whose
#                HTTPS egress goes through their own certificate authority (podman only; docker:
#                add them to the build context or use a build secret)
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
log() { printf '[bert-serve container %ss] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { log "error: $*"; exit 1; }

LOCAL_BASE=0
if [ "${1:-}" = "--local-base" ]; then LOCAL_BASE=1; shift; fi
CMD="${1:-smoke}"
IMAGE="${IMAGE:-bert-serve:latest}"
LOCAL_BASE_IMAGE=localhost/debian:bookworm
ENGINE="${ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}"
command -v "$ENGINE" >/dev/null 2>&1 || die "$ENGINE is not installed (apt-get install podman)"

# Host quirks, podman only. On a cgroup v1/hybrid host crun refuses to run containers ("cgroups in
# hybrid mode not supported"): use runc when it is there. Without CAP_SYS_RESOURCE (a container
# host inside a container) podman cannot raise the open-files and processes limits to its defaults:
# keep the current hard limits.
ENGINE_ARGS=()
if [ "$ENGINE" = podman ]; then
  if [ ! -f /sys/fs/cgroup/cgroup.controllers ] && command -v runc >/dev/null 2>&1; then
    ENGINE_ARGS+=(--runtime runc)
  fi
  capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
  if (( (16#$capeff >> 24 & 1) == 0 )); then
    # (Even the current hard process limit was refused once raised by podman's own steps; 32768 is
    # plenty for one server.)
    nproc=$(ulimit -Hu); if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
    ENGINE_ARGS+=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
  fi
fi
engine() { "$ENGINE" "$@"; }

make_local_base() {
  if engine image exists "$LOCAL_BASE_IMAGE" 2>/dev/null; then
    log "base image $LOCAL_BASE_IMAGE exists"
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"
  local dir
  dir=$(mktemp -d /var/tmp/bert-serve-rootfs.XXXXXX)
  log "making $LOCAL_BASE_IMAGE with debootstrap (minbase bookworm; a few minutes, its lines follow)"
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >&2
  # The same apt sources as Debian's official images: point releases and security updates too.
  cat > "$dir/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | engine import - "$LOCAL_BASE_IMAGE" >&2
  rm -rf "$dir"
  log "imported $LOCAL_BASE_IMAGE"
}

build() {
  local args=(--tag "$IMAGE")
  if [ "$LOCAL_BASE" = 1 ]; then
    make_local_base
    args+=(--build-arg "BASE_IMAGE=$LOCAL_BASE_IMAGE")
  fi
  if [ -n "${MODEL:-}" ]; then
    [ -f "$MODEL/model.pt" ] || die "MODEL=$MODEL has no model.pt (npm run setup makes models/demo)"
    args+=(--build-arg "MODEL=$MODEL")
  fi
  if [ "$ENGINE" = podman ]; then
    # docker format keeps HEALTHCHECK (the OCI image format has no such field).
    args+=(--format docker --layers)
    if [ -n "${APT_CACHE:-}" ]; then args+=(--volume "$APT_CACHE:/var/cache/apt/archives:O"); fi
    # The target is npm's cache inside the build stage (it builds as root), not a path of this host.
    if [ -n "${NPM_CACHE:-}" ]; then args+=(--volume "$NPM_CACHE:/root/.npm:O"); fi
    local ca="${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
    if compgen -G "$ca/*.crt" >/dev/null; then
      log "using the certificate authorities in $ca for the build's downloads"
      args+=(--volume "$ca:/usr/local/share/ca-certificates:ro")
    fi
  fi
  local base=debian:bookworm-slim
  if [ "$LOCAL_BASE" = 1 ]; then base=$LOCAL_BASE_IMAGE; fi
  log "building $IMAGE with $ENGINE from $base${MODEL:+, model $MODEL baked in} (the first build downloads and compiles: minutes)"
  engine build "${ENGINE_ARGS[@]}" "${args[@]}" --file Dockerfile . >&2
  log "built $IMAGE: $(engine image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
}

run_args() {
  local args=(-e BERT_SERVE_LOG_FORMAT=text)
  if [ -n "${CPUS:-}" ]; then args+=(--cpus "$CPUS"); fi
  if [ -z "${MODEL:-}" ]; then
    local dir="${MODEL_DIR:-models/demo}"
    [ -f "$dir/model.pt" ] || die "no model at $dir (npm run setup makes models/demo; or MODEL_DIR=...)"
    args+=(--volume "$(cd "$dir" && pwd):/models/model:ro")
  fi
  printf '%s\n' "${args[@]}"
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

case "$CMD" in
  base)
    make_local_base
    ;;
  build)
    build
    ;;
  run)
    mapfile -t args < <(run_args)
    port="${HOST_PORT:-8000}"
    log "running $IMAGE on port $port (Ctrl-C drains and stops it)"
    exec "$ENGINE" run "${ENGINE_ARGS[@]}" --rm -it -p "$port:8000" "${args[@]}" "$IMAGE"
    ;;
  smoke)
    if [ "${BUILD:-1}" = 1 ]; then build; else log "BUILD=0: using the existing $IMAGE"; fi
    mapfile -t args < <(run_args)
    port="${HOST_PORT:-$(free_port)}"
    name="bert-serve-smoke-$$"
    log "starting $name on port $port"
    engine run "${ENGINE_ARGS[@]}" -d --name "$name" -p "127.0.0.1:$port:8000" "${args[@]}" "$IMAGE" >/dev/null
    trap 'engine rm -f "$name" >/dev/null 2>&1 || true' EXIT
    for _ in $(seq 1 180); do
      if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then break; fi
      if [ "$(engine inspect "$name" --format '{{.State.Running}}')" != true ]; then
        engine logs "$name" >&2 || true
        die "the container exited before it was ready"
      fi
      sleep 1
    done
    log "ready; answers:"
    set -x
    curl -sS -i "http://127.0.0.1:$port/health"; echo
    curl -sS "http://127.0.0.1:$port/info"; echo
    curl -sS -i -X POST -d "Paris is the [MASK] of France." "http://127.0.0.1:$port/"; echo
    { set +x; } 2>/dev/null
    if [ "$ENGINE" = podman ]; then
      engine healthcheck run "$name" && log "HEALTHCHECK: healthy" || die "HEALTHCHECK failed"
    else
      sleep 16; log "HEALTHCHECK: $(engine inspect "$name" --format '{{.State.Health.Status}}')"
    fi
    log "stopping (SIGTERM, the server drains)"
    engine stop -t 40 "$name" >/dev/null
    code=$(engine inspect "$name" --format '{{.State.ExitCode}}')
    engine logs "$name" 2>&1 | tail -n 4 >&2
    [ "$code" = 0 ] || die "exit code $code after SIGTERM"
    log "stopped, exit code 0"
    ;;
  *)
    sed -n '2,30p' "$0" >&2
    exit 2
    ;;
esac
