#!/usr/bin/env bash
# Installs what apt must provide for bert-serve, and nothing when it is already there.
# Idempotent: a second run only checks dpkg and exits. Called by `npm start` and `npm test`.
#   --runtime   only what a built addon needs to run (a container's runtime stage, a host that
#               runs a copied build): libtorch's shared libraries, OpenBLAS, utf8proc, Oniguruma,
#               jemalloc.
#   --bench     only what `npm run bench` adds for its comparison row (the seed recipe's Python
#               server, bench/recipe_server.py); the bench skips that row when these are missing.
# A first install downloads about 1 GB (libtorch and python3-torch with their dependencies); apt's
# own lines (Get:, Unpacking, Setting up) are shown as they happen.
set -euo pipefail

BUILD_PKGS=(
  libtorch-dev          # CPU libtorch 1.13 (headers, CMake config, shared libs)
  python3-torch         # model export / demo model / reference checks (/usr/bin/python3)
  libopenblas0-openmp   # without it torch's linear layers use the reference BLAS (~36x slower)
  libutf8proc-dev       # Unicode tables for the tokenizer (categories, NFD, case mapping)
  libonig-dev           # Oniguruma: tokenizer.json's Split/Replace regex patterns, as `tokenizers` runs them
  nlohmann-json3-dev    # JSON parsing of config.json / tokenizer.json in the engine
  libjemalloc2          # the malloc bin/bert-serve preloads (docs/performance.md, "The allocator")
  cmake ninja-build g++ make pkg-config
  ccache                # compiles of unchanged sources are reused across builds (scripts/build-addon.mjs)
  clang-14 libclang-rt-14-dev  # libFuzzer + sanitizers for the fuzz targets (test/long/native-fuzz.test.mjs)
  wrk                   # HTTP load generator used by bench/
)
RUNTIME_PKGS=(
  libtorch1.13          # libtorch.so, libtorch_cpu.so, libc10.so
  libopenblas0-openmp   # the BLAS libtorch should load (see above)
  libutf8proc2
  libonig5              # Oniguruma (see above)
  libjemalloc2          # the malloc bin/bert-serve preloads (see above)
)

BENCH_PKGS=(
  python3-starlette     # 0.26 in bookworm: the recipe's web framework
  python3-uvicorn       # 0.17 in bookworm: its ASGI server (asyncio loop, h11, as pip's plain uvicorn)
)
TEST_PKGS=(
  clang-14 libclang-rt-14-dev   # libFuzzer + ASan/UBSan for the fuzz targets' bounded CI run
  chromium                      # headless browser for the /docs page test (test/e2e/http-docs-browser.test.mjs)
  nginx haproxy                 # stock reverse proxies in front of the server (test/e2e/http-proxies.test.mjs);
                                # the test starts its own on 127.0.0.1, the packages' services stay unused
  python3-sentencepiece sentencepiece  # trains the XLM-R-style Unigram tokenizer fixture (scripts/make_unigram_fixture.py)
  clang-format-14               # the C++ format check (scripts/lint.sh)
  openssl curl                  # HTTPS: the test's self-signed certificate and a client (test/e2e/http-tls.test.mjs)
)
PKGS=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--runtime" ]; then PKGS=("${RUNTIME_PKGS[@]}"); fi
if [ "${1:-}" = "--test" ]; then PKGS=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"); fi
if [ "${1:-}" = "--bench" ]; then PKGS=("${BENCH_PKGS[@]}"); fi

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

START=$SECONDS
log() { printf '[bert-serve apt %ss] %s\n' "$((SECONDS - START))" "$*" >&2; }
log "installing system packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
$SUDO apt-get update -q >&2
# -q keeps one line per download and per unpacked/configured package (no progress bars, which
# are unreadable in logs); apt states the download size first ("Need to get ...").
log "apt-get install (the first time: about 1 GB to download and unpack, minutes)"
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
log "system packages installed"
